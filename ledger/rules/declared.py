"""Where a rule says once what it is: its name, its kind and the rules-file section that switches
it. ``ledger.rules.catalogue`` collects the declarations; nothing else lists rules by hand.

A rule module declares each name it raises alerts under (``BULK = declare(...)``), and a rule
that judges each arriving disclosure is a ``RuleClass`` subclass naming its rule, so the default
rule list is every such class. No imports from the rest of the ledger: everything declares here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from ledger.rules.model import AlertDraft, RuleContext

OWN_NAME = "<own name>"  # the default section: the rule is switched by its own name


class RuleKind(StrEnum):
    DISCLOSURE = "per disclosure"  # judged as each disclosure arrives
    VOLUME = "per volume window"  # a scope's day or trailing window against its prior year
    LIFECYCLE = "lifecycle"  # about the ledger's own findings and records


@dataclass(frozen=True)
class RuleInfo:
    name: str
    kind: RuleKind
    section: str | None  # its section in the rules file, or None when it cannot be switched off
    rejudged: bool = False  # a late notice, order or amendment can change its verdict


_DECLARED: dict[str, RuleInfo] = {}
_CLASSES: list[type[RuleClass]] = []


def declare(
    name: str, kind: RuleKind, section: str | None = OWN_NAME, *, rejudged: bool = False
) -> str:
    """Declares the rule ``name`` and returns it (``BULK = declare("bulk_without_notice", ...)``)."""
    info = RuleInfo(name, kind, name if section == OWN_NAME else section, rejudged)
    known = _DECLARED.setdefault(name, info)
    if known != info:
        raise ValueError(f"rule {name!r} is declared twice, differently: {known} and {info}")
    return name


def declared_rule(name: str) -> RuleInfo:
    return _DECLARED[name]


def declared() -> tuple[RuleInfo, ...]:
    """Every rule declared so far (``ledger.rules.catalogue`` imports every rule module first)."""
    return tuple(_DECLARED.values())


class RuleClass:
    """A rule evaluated for each arriving disclosure; subclassing with ``rule=`` registers it.

    ``class BulkWithoutNotice(RuleClass, rule=BULK)``: the class joins the default rule list
    (``ledger.rules.default_rules``) in the order the classes are defined.
    """

    rule: ClassVar[str]

    def __init_subclass__(cls, *, rule: str | None = None, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if rule is None:
            return  # a base for other rules, not a rule itself
        if rule not in _DECLARED:
            raise ValueError(f"{cls.__name__}: declare rule {rule!r} before its class")
        cls.rule = rule
        _CLASSES.append(cls)

    def evaluate(self, ctx: RuleContext) -> list[AlertDraft]:
        """The drafts this rule raises for the arriving disclosure ``ctx`` describes."""
        raise NotImplementedError


def rule_classes() -> tuple[type[RuleClass], ...]:
    return tuple(_CLASSES)
