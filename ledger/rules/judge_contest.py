"""A later fact never silently undoes a finding about the past: it can only contest one.

When a later fact (an amendment, a withdrawal, a re-dated or re-labelled disclosure, a notice or
request recorded after the transmission, an order's amendment or vacatur, an earlier-dated
disclosure recorded late) would resolve an open alert, the alert stays open, marked contested
(a status change that keeps it open, its reason starting with ``contested:``), and a critical
``finding_contested`` alert names both the finding and the event that would undo it. A person's
acknowledgement of that finding is what closes the question (see docs/design.md, 'Alert
lifecycle'). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from ledger.rules.declared import RuleKind, declare
from ledger.rules.lifecycle import OPEN, Reconciliation, StatusChange
from ledger.rules.model import AlertDraft, LogScope, Scope, Severity

CONTESTED = declare("finding_contested", RuleKind.LIFECYCLE, None)
CONTESTED_PREFIX = "contested: "
DUE_AGAIN = "due again: "
CONTESTED_LEGAL_SOURCE = (
    "26 U.S.C. 6103(p)(3)(A); 5 U.S.C. 552a(c)(1): the accounting is made at the time of"
    " disclosure and a later statement by the discloser does not replace it"
)


@dataclass(frozen=True)
class Proposal:
    """A later fact that would resolve an alert: which alert, why, and which event proposes it."""

    alert_id: str
    rule: str
    scope: Scope | LogScope | None
    day: date | None
    reason: str
    cause: str  # the proposing event's id
    at: datetime  # its broker time


@dataclass
class Judgement:
    """What the judge decided: alerts to raise, status changes to append, and the alerts raised
    again (their AlertRaised is published again when the reopening is new)."""

    drafts: list[AlertDraft] = field(default_factory=list)
    changes: list[StatusChange] = field(default_factory=list)
    reopened: list[AlertDraft] = field(default_factory=list)

    def extend(self, other: Judgement) -> None:
        self.drafts.extend(other.drafts)
        self.changes.extend(other.changes)
        self.reopened.extend(other.reopened)


def contested_finding(p: Proposal, fallback: Scope) -> AlertDraft:
    """The critical alert that names the finding and the event that would undo it."""
    scope = p.scope or fallback
    day = p.day or p.at.date()
    return AlertDraft.about(
        CONTESTED,
        Severity.CRITICAL,
        scope,
        day,
        p.alert_id,
        p.cause,
        observed=1,
        evidence=[p.cause, p.alert_id],
        legal_source=CONTESTED_LEGAL_SOURCE,
        message=(
            f"Event {p.cause} would resolve the {p.rule} alert {p.alert_id} ({p.reason}); a later"
            " fact cannot undo a finding about the past, so the alert stays open, contested,"
            " until a person acknowledges this finding."
        ),
    )


def contest(proposals: Iterable[Proposal], fallback: Scope) -> Judgement:
    """Each proposal as a contested mark on its alert (still open) and a finding naming both."""
    out = Judgement()
    for p in proposals:
        out.changes.append(
            StatusChange(p.alert_id, OPEN, f"{CONTESTED_PREFIX}{p.reason}", p.cause, p.at)
        )
        out.drafts.append(contested_finding(p, fallback))
    return out


def settle(
    result: Reconciliation,
    scopes: dict[str, tuple[Scope | None, date | None]],
    cause: str,
    at: datetime,
    fallback: Scope,
) -> Judgement:
    """A reconciliation after a later fact: raised and reopened alerts stand at once, the
    resolutions it proposes are contested instead (``scopes`` gives each stored alert's scope
    and day, for the finding)."""
    out = Judgement(drafts=list(result.raised), reopened=list(result.reopened))
    out.changes.extend(
        StatusChange(d.alert_id, OPEN, f"{DUE_AGAIN}{d.message}", cause, at)
        for d in result.reopened
    )
    proposals = [
        Proposal(r.alert_id, r.rule, *scopes.get(r.alert_id, (None, None)), r.reason, cause, at)
        for r in result.resolved
    ]
    out.extend(contest(proposals, fallback))
    return out
