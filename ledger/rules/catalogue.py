"""Every rule the ledger alerts by, collected from where each is declared
(``ledger.rules.declared.declare``): its name, what kind of judgement it is, and the rules-file
section that switches it (None: always on).

Importing this module imports every module of ``ledger.rules``, so the list is complete. The
README's rules table is checked against it (tests/unit/test_rule_catalogue.py), the lifecycle's re-judged rules
and the default rule list come from the same declarations, and ``RulesConfig.on`` refuses a name
that is not here, so a misspelled switch fails loudly instead of reading as "on".
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from ledger.rules.declared import RuleInfo, RuleKind, declared

# Every module of the package is imported for its declarations: a rule in a new module is
# catalogued without anyone listing it.
for _module in pkgutil.iter_modules([str(Path(__file__).parent)], "ledger.rules."):
    importlib.import_module(_module.name)

_KIND_ORDER = (RuleKind.VOLUME, RuleKind.DISCLOSURE, RuleKind.LIFECYCLE)

CATALOGUE: tuple[RuleInfo, ...] = tuple(
    sorted(declared(), key=lambda r: _KIND_ORDER.index(r.kind))  # stable: declaration order
)

RULE_NAMES = frozenset(r.name for r in CATALOGUE)
# What RulesConfig.on may be asked: a section, or a rule that cannot be switched off.
SWITCHES = frozenset(r.section or r.name for r in CATALOGUE)

__all__ = ["CATALOGUE", "RULE_NAMES", "SWITCHES", "RuleInfo", "RuleKind", "rule"]


def rule(name: str) -> RuleInfo:
    for info in CATALOGUE:
        if info.name == name:
            return info
    raise KeyError(f"no rule named {name!r} in ledger.rules.catalogue")
