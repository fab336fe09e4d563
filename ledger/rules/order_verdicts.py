"""One verdict: what a court order's report says about each transmission it covers, from the
judgement the alerts come from.

Each covered transmission is judged by ``disclosure_verdicts`` with the inputs the judge gives
it (every order under its terms over time, the notices for its recipient, what each notice
already covered, the day's transmissions a notice order sums, the requests it cites), and the
alert the rules raise for this order is set beside the stored alert of the same id, so the
report shows the rules' verdict and the alert's status (open, contested, resolved) together and
never contradicts the alerts. Small transmissions are listed too. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ledger.rules.compliance import BULK, STAY
from ledger.rules.config import RulesConfig
from ledger.rules.judge import same_day
from ledger.rules.lifecycle import disclosure_verdicts, needs_notice, notice_use
from ledger.rules.model import CourtOrderFacts, DisclosureFacts, NoticeFacts
from ledger.rules.notices import bulk_notice_checks, may_split
from ledger.rules.orders import reaches
from ledger.rules.requests import RequestFacts

STAY_TYPES = ("STAY", "INJUNCTION")
NO_ALERT = "none"
# Verdicts: a violation (the rule raises an alert for this order), complied (no alert is due: a
# notice answers the order, or the rule is switched off), not bulk (under the order's
# threshold, alone and summed with the day's and the notice window's transmissions).
VIOLATION = "violation"
COMPLIED = "complied"
NOT_BULK = "not bulk"


@dataclass(frozen=True)
class StoredVerdict:
    """The stored alert of one rule about one transmission under one order."""

    alert_id: str
    status: str  # open, contested or resolved
    reason: str | None


@dataclass(frozen=True)
class NoticeSeen:
    """A notice as the report shows it: the cited or judged one, with when the ledger got it."""

    facts: NoticeFacts
    recorded_at: datetime | None  # when the ledger received it (its entry's recording time)


@dataclass(frozen=True)
class Verdict:
    """One covered transmission: the terms it was made under, the rules' verdict, the alert."""

    disclosure: DisclosureFacts
    terms: CourtOrderFacts  # the order's terms in force at the transmission
    verdict: str  # VIOLATION, COMPLIED or NOT_BULK
    problem: str | None
    notice: NoticeSeen | None  # the notice the verdict rests on (the cited one, if cited)
    alert_id: str | None  # the alert the rules raise now, else the stored one
    alert_status: str  # open / contested / resolved / none

    @property
    def lead(self) -> timedelta | None:
        """From the judged notice's filing to the transmission."""
        if self.notice is None:
            return None
        return self.disclosure.transmitted_at - self.notice.facts.filed_at

    @property
    def agrees(self) -> bool:
        """Whether the alerts say what the rules say: a violation has an alert that is not
        resolved, and no verdict without a violation has an open, uncontested alert."""
        if self.verdict == VIOLATION:
            return self.alert_status in ("open", "contested")
        return self.alert_status in (NO_ALERT, "resolved", "contested")


def term_at(terms: Sequence[CourtOrderFacts], at: datetime) -> CourtOrderFacts | None:
    """The order's terms in force at ``at`` (None when it was not in force then)."""
    for t in terms:
        if t.in_force(at):
            return t
    return None


def order_verdicts(
    terms: Sequence[CourtOrderFacts],
    orders: Sequence[CourtOrderFacts],
    transmissions: Sequence[DisclosureFacts],
    notices: Mapping[str, Sequence[NoticeFacts]],
    requests: Mapping[str, RequestFacts],
    stored: Mapping[str, StoredVerdict],
    received: Mapping[str, datetime],
    config: RulesConfig,
) -> list[Verdict]:
    """The verdict on every transmission among ``transmissions`` that one order's ``terms``
    (over time) cover while in force, of any size, in transmission order.

    ``orders`` are every order under its terms over time (as the judge has them);
    ``transmissions`` every stored transmission the verdicts need (the order's spans, their
    days and the notices' windows); ``notices`` by canonical recipient id; ``stored`` the
    stored alerts by transmission event id (of this order's rule); ``received`` when each
    notice's event reached the ledger, by event id."""
    registry = config.registry
    ordered = sorted(transmissions, key=lambda f: (f.transmitted_at, f.event_id))
    rule = BULK if terms and terms[0].order_type == "NOTICE_REQUIREMENT" else STAY
    found: list[Verdict] = []
    for d in ordered:
        term = term_at(terms, d.transmitted_at)
        if term is None or not reaches(term, d, registry, requests):
            continue
        mine = notices.get(registry.agency(d.recipient_agency).id, [])
        wanted = needs_notice(d, orders, registry) or may_split(d, orders, registry, requests)
        use = notice_use(d, mine, ordered, registry) if mine and wanted else {}
        day = same_day(d, ordered, set(), orders, config, requests)
        drafts = [
            a
            for a in disclosure_verdicts(d, orders, mine, config, use, requests, day)
            if a.rule == rule and term.event_id in a.evidence[1:2]
        ]
        notice: NoticeFacts | None = None
        problem: str | None = None
        checked = True
        if rule == BULK:
            checks = bulk_notice_checks(d, [term], mine, registry, use, requests, day)
            checked = bool(checks)
            if checks:
                notice, problem = checks[0].notice, checks[0].problem
            if d.notice_id and notice is None:
                # The cited notice decides; shown even when the transmission is not bulk.
                notice = next((n for n in mine if n.notice_id == d.notice_id), None)
        # The verdict is the alert the rules raise (a rule switched off raises none).
        verdict = VIOLATION if drafts else COMPLIED if checked else NOT_BULK
        kept = stored.get(d.event_id)
        found.append(
            Verdict(
                disclosure=d,
                terms=term,
                verdict=verdict,
                problem=problem,
                notice=None
                if notice is None
                else NoticeSeen(notice, received.get(notice.event_id)),
                alert_id=drafts[0].alert_id if drafts else (kept.alert_id if kept else None),
                alert_status=kept.status if kept else NO_ALERT,
            )
        )
    return found
