"""The alert lifecycle: what the rules say now against the alerts already raised.

A later fact (a notice or order recorded late, an order amended or vacated, a disclosure amended,
an earlier disclosure arriving late) makes the rules say something else about disclosures already
judged. ``reconcile`` compares the drafts the rules give now with the stored alerts of the same
domain (the same rules about the same disclosures, or the same scopes and days): an open alert
no draft supports any more is proposed for resolution (``ledger.rules.judge_contest`` turns the
proposal into a contested finding: a later fact does not resolve one), a draft not stored yet is
raised, and a draft whose alert was resolved before is opened again. Nothing is deleted. Pure:
no I/O.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from ledger.rules import compliance  # noqa: F401  (declares the rules re-judged below)
from ledger.rules.config import RulesConfig
from ledger.rules.declared import RuleKind, declare, declared, rule_classes
from ledger.rules.model import (
    AlertDraft,
    CourtOrderFacts,
    DisclosureFacts,
    NoticeFacts,
    RuleContext,
    Scope,
    Severity,
)
from ledger.rules.notices import notice_authority_covers
from ledger.rules.registry import Registry
from ledger.rules.requests import RequestFacts

OPEN = "open"
RESOLVED = "resolved"
STATUSES = (OPEN, RESOLVED)
DUPLICATE = declare("duplicate_disclosure", RuleKind.LIFECYCLE, None)
_CHANGE_NS = uuid.UUID("0b8f6a52-27c4-4a39-a7f5-6f1c0de5a9e3")  # status changes' event ids

# The rules that judge one disclosure against the orders and notices (not against volume): the
# ones a late notice, a late or changed order, or an amendment can change the verdict of.
# Declared with ``rejudged=True`` where each rule lives (ledger.rules.compliance).
DISCLOSURE_RULES = tuple(r.name for r in declared() if r.rejudged)
_DISCLOSURE_RULES = tuple(cls() for cls in rule_classes() if cls.rule in DISCLOSURE_RULES)


@dataclass(frozen=True)
class StoredAlert:
    """An alert already raised, with its current status (and, where the reader loaded them, its
    scope and day: a contested finding is raised on the same ones)."""

    alert_id: str
    rule: str
    status: str  # OPEN or RESOLVED
    scope: Scope | None = None
    day: date | None = None
    contested: bool = False  # open, and a later fact already contested it: it awaits a person


@dataclass(frozen=True)
class StatusChange:
    """One appended change of an alert's status (``alert_status_changes``)."""

    alert_id: str
    status: str  # OPEN or RESOLVED; a contested alert stays OPEN with a "contested:" reason
    reason: str
    caused_by: str  # the event id of the fact that changed it
    at: datetime  # that fact's broker time

    @property
    def event_id(self) -> str:
        """Derived from (alert, status, cause): redelivery and replay repeat it."""
        return str(uuid.uuid5(_CHANGE_NS, f"{self.alert_id}|{self.status}|{self.caused_by}"))


@dataclass(frozen=True)
class Resolution:
    alert_id: str
    reason: str
    rule: str = ""


@dataclass(frozen=True)
class Reconciliation:
    """What to do about one domain of alerts after a fact changed."""

    raised: list[AlertDraft]  # due and never stored
    reopened: list[AlertDraft]  # due again after being resolved
    resolved: list[Resolution]  # open, and no rule supports them now

    def __bool__(self) -> bool:
        return bool(self.raised or self.reopened or self.resolved)


def reconcile(
    due: Iterable[AlertDraft], stored: Iterable[StoredAlert], reason: str
) -> Reconciliation:
    """Diffs ``due`` (what the rules say now) against ``stored`` (every alert of the same domain).

    ``reason`` says which fact changed (it names the event), for the resolutions.
    """
    drafts = {d.alert_id: d for d in due}
    known = {s.alert_id: s for s in stored}
    raised = [d for i, d in drafts.items() if i not in known]
    reopened = [d for i, d in drafts.items() if i in known and known[i].status == RESOLVED]
    resolved = [
        Resolution(s.alert_id, f"{s.rule} no longer holds: {reason}", s.rule)
        for i, s in known.items()
        if s.status == OPEN and not s.contested and i not in drafts
    ]
    return Reconciliation(raised, reopened, resolved)


def disclosure_verdicts(
    d: DisclosureFacts,
    orders: Sequence[CourtOrderFacts],
    notices: Sequence[NoticeFacts],
    config: RulesConfig,
    notice_use: Mapping[str, int] | None = None,
    requests: Mapping[str, RequestFacts] | None = None,
    same_day: Sequence[DisclosureFacts] = (),
) -> list[AlertDraft]:
    """What the disclosure rules say about ``d`` now, under ``orders`` (current terms) and
    ``notices``; ``notice_use`` is the records of earlier transmissions each notice covered,
    ``requests`` the requests disclosures cite, by request id."""
    ctx = RuleContext(
        disclosure=d,
        windows=[],
        coverage_start=d.day,
        orders_in_force=[o for o in orders if o.in_force(d.transmitted_at)],
        notices=list(notices),
        config=config,
        notice_use=dict(notice_use or {}),
        requests=dict(requests or {}),
        same_day=list(same_day),
    )
    drafts: list[AlertDraft] = []
    for rule in _DISCLOSURE_RULES:
        drafts.extend(rule.evaluate(ctx))
    return drafts


def notice_covers(notice: NoticeFacts, r: DisclosureFacts, registry: Registry) -> bool:
    """Whether transmission ``r`` is one that ``notice`` announced (recipient by canonical id,
    authority, window)."""
    return (
        registry.agency(r.recipient_agency).id == registry.agency(notice.recipient_agency).id
        and notice.planned_start <= r.transmitted_at <= notice.planned_end
        and notice_authority_covers(notice, r, registry)
    )


def needs_notice(d: DisclosureFacts, orders: Iterable[CourtOrderFacts], registry: Registry) -> bool:
    """Whether a notice order in force covers ``d`` at its size (only then do notices matter)."""
    return any(
        o.order_type == "NOTICE_REQUIREMENT"
        and o.in_force(d.transmitted_at)
        and o.covers(d.recipient_agency, d.legal_authority, registry)
        and (o.bulk_threshold is None or d.record_count >= o.bulk_threshold)
        for o in orders
    )


def notice_use(
    d: DisclosureFacts,
    notices: Iterable[NoticeFacts],
    others: Iterable[DisclosureFacts],
    registry: Registry,
) -> dict[str, int]:
    """Records each notice already covered before ``d``: the transmissions among ``others`` it
    announced that were sent before ``d`` (transmission time, then event id)."""
    before = [
        r
        for r in others
        if r.event_id != d.event_id
        and (r.transmitted_at, r.event_id) < (d.transmitted_at, d.event_id)
    ]
    return {
        n.notice_id: sum(r.record_count for r in before if notice_covers(n, r, registry))
        for n in notices
    }


def second_recording_alert(
    rule: str, severity: Severity, dup: DisclosureFacts, original_event_id: str, outcome: str
) -> AlertDraft:
    """A second DisclosureRecorded of the same (source, disclosure id) under a new event id:
    ``duplicate_disclosure`` (same contents) or ``conflicting_disclosure`` (other contents)."""
    return AlertDraft.about(
        rule,
        severity,
        Scope("recipient", dup.source_agency, dup.recipient_agency),
        dup.day,
        dup.disclosure_id,
        dup.event_id,
        observed=dup.record_count,
        evidence=[dup.event_id, original_event_id],
        legal_source="26 U.S.C. 6103(p)(3)(A): an accurate accounting, each disclosure once",
        message=(
            f"Disclosure {dup.disclosure_id} from {dup.source_agency} was recorded again as event"
            f" {dup.event_id} {outcome}"
        ),
    )


def duplicate_alert(dup: DisclosureFacts, original_event_id: str) -> AlertDraft:
    """A second recording with the first's contents: not counted."""
    return second_recording_alert(
        DUPLICATE,
        Severity.WARNING,
        dup,
        original_event_id,
        f"(first recorded as event {original_event_id}); the second record is not counted.",
    )
