"""Every rule the ledger alerts by, once: its name, what kind of judgement it is, and the rules
file section that switches it (None: always on).

The rules table in README.md is checked against this list (tests/unit/test_rule_catalogue.py),
and ``RulesConfig.on`` refuses a name that is not here, so a misspelled switch fails loudly
instead of reading as "on".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RuleKind(StrEnum):
    DISCLOSURE = "per disclosure"  # judged as each disclosure arrives
    VOLUME = "per volume window"  # a scope's day or trailing window against its prior year
    LIFECYCLE = "lifecycle"  # about the ledger's own findings and records


@dataclass(frozen=True)
class RuleInfo:
    name: str
    kind: RuleKind
    section: str | None  # its section in the rules file, or None when it cannot be switched off


CATALOGUE: tuple[RuleInfo, ...] = (
    RuleInfo("spike_over_prior_year", RuleKind.VOLUME, "spike_over_prior_year"),
    RuleInfo("sustained_over_prior_year", RuleKind.VOLUME, "sustained_over_prior_year"),
    RuleInfo("new_recipient", RuleKind.VOLUME, "new_scope"),
    RuleInfo("new_authority", RuleKind.VOLUME, "new_scope"),
    RuleInfo("statistical_anomaly", RuleKind.VOLUME, "statistical_anomaly"),
    RuleInfo("unknown_recipient", RuleKind.DISCLOSURE, "unknown_recipient"),
    RuleInfo("unknown_source", RuleKind.DISCLOSURE, "unknown_source"),
    RuleInfo("bulk_without_notice", RuleKind.DISCLOSURE, "bulk_without_notice"),
    RuleInfo("disclosure_during_stay", RuleKind.DISCLOSURE, "disclosure_during_stay"),
    RuleInfo("missing_legal_authority", RuleKind.DISCLOSURE, "missing_legal_authority"),
    RuleInfo("request_incomplete", RuleKind.DISCLOSURE, "request_incomplete"),
    RuleInfo("late_recording", RuleKind.DISCLOSURE, "late_recording"),
    RuleInfo("duplicate_disclosure", RuleKind.LIFECYCLE, None),
    RuleInfo("conflicting_disclosure", RuleKind.LIFECYCLE, None),
    RuleInfo("reused_event_id", RuleKind.LIFECYCLE, None),
    RuleInfo("finding_contested", RuleKind.LIFECYCLE, None),
    RuleInfo("alert_flood", RuleKind.LIFECYCLE, None),
    RuleInfo("malformed_event", RuleKind.LIFECYCLE, None),
    RuleInfo("unauthorized_event", RuleKind.LIFECYCLE, None),
)

RULE_NAMES = frozenset(r.name for r in CATALOGUE)
# What RulesConfig.on may be asked: a section, or a rule that cannot be switched off.
SWITCHES = frozenset(r.section or r.name for r in CATALOGUE)


def rule(name: str) -> RuleInfo:
    for info in CATALOGUE:
        if info.name == name:
            return info
    raise KeyError(f"no rule named {name!r} in ledger.rules.catalogue")
