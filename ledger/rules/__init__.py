"""The law as rules: pure functions over (event, current state) that return alert drafts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ledger.rules.compliance import (
    BulkWithoutNotice,
    DisclosureDuringStay,
    MissingLegalAuthority,
    RequestIncomplete,
    UnknownRecipient,
    UnknownSource,
)
from ledger.rules.declared import RuleKind, declared_rule, rule_classes
from ledger.rules.model import AlertDraft, RuleContext
from ledger.rules.volume_rules import (
    SpikeOverPriorYear,
    StatisticalAnomaly,
    SustainedOverPriorYear,
    warming_up,
)


class Rule(Protocol):
    def evaluate(self, ctx: RuleContext) -> list[AlertDraft]: ...


def default_rules() -> list[Rule]:
    """Every rule class declared with ``rule=`` (ledger.rules.declared): volume rules first, then
    the per-disclosure ones, each in the order its module defines them."""
    classes = rule_classes()
    volume = [c for c in classes if declared_rule(c.rule).kind == RuleKind.VOLUME]
    return [cls() for cls in (*volume, *(c for c in classes if c not in volume))]


_DEFAULT = default_rules()


def evaluate_all(ctx: RuleContext, rules: Sequence[Rule] | None = None) -> list[AlertDraft]:
    """Every rule's drafts for one arriving disclosure, in rule order."""
    drafts: list[AlertDraft] = []
    for rule in rules or _DEFAULT:
        drafts.extend(rule.evaluate(ctx))
    return drafts


__all__ = [
    "AlertDraft",
    "BulkWithoutNotice",
    "DisclosureDuringStay",
    "MissingLegalAuthority",
    "RequestIncomplete",
    "Rule",
    "RuleContext",
    "SpikeOverPriorYear",
    "StatisticalAnomaly",
    "SustainedOverPriorYear",
    "UnknownRecipient",
    "UnknownSource",
    "default_rules",
    "evaluate_all",
    "warming_up",
]
