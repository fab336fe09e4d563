"""`ledger report order` and `ledger report stays`: a court order's terms over time and the
verdict on every transmission it covered, from the judgement the alerts come from
(``ledger.rules.order_verdicts``), with each alert's status beside it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ledger.events import CourtOrderVacated
from ledger.ops.reports import ReportArgumentError, UnknownOrderError
from ledger.rules.compliance import BULK, STAY
from ledger.rules.config import RulesConfig
from ledger.rules.model import CourtOrderFacts, DisclosureFacts, NoticeFacts
from ledger.rules.order_verdicts import STAY_TYPES, VIOLATION, Verdict, order_verdicts
from ledger.rules.orders import COLLATERAL_BAR, OrderChange
from ledger.rules.requests import RequestFacts
from ledger.storable import text_problem
from ledger.store import Connection, corrections
from ledger.store import reports as store
from ledger.store import requests as request_store
from ledger.store import volume as volume_store
from ledger.store.orders import order_changes, orders_now

# A day either side of the order's span: a notice order sums a day's transmissions.
_MARGIN = timedelta(days=1)


@dataclass(frozen=True)
class OrderReport:
    order: CourtOrderFacts  # as first recorded
    received_at: datetime | None  # when the ledger got the order
    changes: list[OrderChange]  # amendments and vacatur, in the order recorded
    change_received: dict[str, datetime]
    terms: list[CourtOrderFacts]  # the terms over time the verdicts are judged under
    lines: list[Verdict]
    request_events: list[str]  # the event ids of the requests covered transmissions cite

    @property
    def violations(self) -> int:
        return sum(1 for line in self.lines if line.verdict == VIOLATION)

    @property
    def disagreements(self) -> int:
        return sum(1 for line in self.lines if not line.agrees)


def _checked_id(order_id: str) -> None:
    if text_problem(order_id) or not order_id.strip():
        raise ReportArgumentError("The order id must be text the ledger can hold (no NUL).")


def _notices(
    conn: Connection, agencies: set[str], config: RulesConfig
) -> dict[str, list[NoticeFacts]]:
    """The notices filed for these recipients (canonical ids), whatever the spelling, by id."""
    agency = config.registry.agency
    spellings = [t for t in volume_store.notice_recipients(conn) if agency(t).id in agencies]
    found: dict[str, list[NoticeFacts]] = {}
    for filed in volume_store.notices(conn, spellings) if spellings else []:
        n = NoticeFacts.from_event(filed)
        found.setdefault(agency(n.recipient_agency).id, []).append(n)
    return found


def _transmissions(
    conn: Connection, start: datetime, end: datetime | None
) -> dict[str, DisclosureFacts]:
    return {d.event_id: d for d in corrections.transmitted_between(conn, start, end)}


def build_report(conn: Connection, order_id: str, config: RulesConfig) -> OrderReport:
    """Any order's report: its terms over time and the verdict on each transmission it covered
    (loaded as the judge loads them: the transmissions as they now stand, every order's terms,
    the notices for their recipients and the transmissions in those notices' windows)."""
    _checked_id(order_id)
    recorded = store.court_order(conn, order_id)
    if recorded is None:
        # The id is not echoed: whatever was typed there (a TIN by mistake) stays off screens.
        raise UnknownOrderError("No court order with that order id is recorded in the ledger.")
    order = CourtOrderFacts.from_event(recorded)
    orders = orders_now(conn)
    terms = [o for o in orders if o.order_id == order_id]
    changes = order_changes(conn, order_id)
    found: dict[str, DisclosureFacts] = {}
    if terms:
        start = min(t.effective_at for t in terms) - _MARGIN
        ends = [t.expires_at for t in terms]
        end = None if None in ends else max(e for e in ends if e is not None) + _MARGIN
        found = _transmissions(conn, start, end)
    agency = config.registry.agency
    notices = _notices(conn, {agency(d.recipient_agency).id for d in found.values()}, config)
    windows = [n for ns in notices.values() for n in ns]
    if windows and found:
        # What each notice already covered: the transmissions in its window, before the span.
        first = min(n.planned_start for n in windows)
        earliest = min(d.transmitted_at for d in found.values())
        if first < earliest:
            found.update(_transmissions(conn, first, earliest))
    cited = request_store.requests(conn, {d.request_id for d in found.values() if d.request_id})
    requests = {rid: RequestFacts.from_event(r) for rid, r in cited.items()}
    rule = BULK if order.order_type == "NOTICE_REQUIREMENT" else STAY
    stored = store.order_alerts(conn, rule, order.event_id, sorted(found))
    received = store.received_at(
        conn, [order.event_id, *(c.event_id for c in changes), *(n.event_id for n in windows)]
    )
    lines = order_verdicts(
        terms, orders, list(found.values()), notices, requests, stored, received, config
    )
    return OrderReport(
        order,
        received.get(order.event_id),
        changes,
        {c.event_id: received[c.event_id] for c in changes if c.event_id in received},
        terms,
        lines,
        sorted(r.event_id for r in cited.values()),
    )


def order_report(conn: Connection, order_id: str, config: RulesConfig) -> OrderReport:
    """A notice order's report (`ledger report order`)."""
    report = build_report(conn, order_id, config)
    kind = report.order.order_type
    if kind != "NOTICE_REQUIREMENT":
        hint = " (`ledger report stays` reports it)" if kind in STAY_TYPES else ""
        raise ReportArgumentError(
            f"That order is a {kind} order; only a NOTICE_REQUIREMENT order has notices to"
            f" report on{hint}."
        )
    return report


def stays_report(conn: Connection, config: RulesConfig, order_id: str | None) -> list[OrderReport]:
    """Every stay and injunction (or the one ``order_id`` names) and what was sent while it
    stood (`ledger report stays`)."""
    if order_id is not None:
        report = build_report(conn, order_id, config)
        if report.order.order_type not in STAY_TYPES:
            raise ReportArgumentError(
                f"That order is a {report.order.order_type} order, not a stay or injunction."
            )
        return [report]
    return [build_report(conn, o, config) for o in store.orders_of_types(conn, STAY_TYPES)]


# --- JSON --------------------------------------------------------------------------------


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def _terms_json(t: CourtOrderFacts) -> dict[str, Any]:
    return {
        "from": _iso(t.effective_at),
        "until": _iso(t.expires_at),
        "recipients": list(t.recipients),
        "authorities": list(t.authorities),
        "bulk_threshold": t.bulk_threshold,
        "notice_hours": t.notice_hours,
    }


def change_note(change: OrderChange) -> str:
    """What a change did, in a line."""
    if isinstance(change, CourtOrderVacated):
        when = change.vacated_at.isoformat()
        return f"vacated at {when}; {COLLATERAL_BAR}" if change.ab_initio else f"vacated at {when}"
    start = change.effective_at or change.amended_at
    return f"amended at {change.amended_at.isoformat()}, applies from {start.isoformat()}"


def _change_json(change: OrderChange, received: datetime | None) -> dict[str, Any]:
    vacated = isinstance(change, CourtOrderVacated)
    return {
        "kind": "vacated" if vacated else "amended",
        "event_id": change.event_id,
        "received_at": _iso(received),
        "note": change_note(change),
        "reason": change.reason,
    }


def _line_json(line: Verdict) -> dict[str, Any]:
    d, n = line.disclosure, line.notice
    return {
        "disclosure_id": d.disclosure_id,
        "event_id": d.event_id,
        "transmitted_at": d.transmitted_at,
        "recipient": d.recipient_agency,
        "authority": d.legal_authority,
        "terms_from": line.terms.effective_at,
        "notice_hours": line.terms.notice_hours,
        "bulk_threshold": line.terms.bulk_threshold,
        "notice_id": None if n is None else n.facts.notice_id,
        "notice_event_id": None if n is None else n.facts.event_id,
        "notice_served_on": None if n is None else list(n.facts.served_on),
        "notice_filed_at": None if n is None else n.facts.filed_at,
        "notice_received_at": None if n is None else n.recorded_at,
        "lead_hours": None if line.lead is None else line.lead.total_seconds() / 3600,
        "noticed_records": None if n is None else n.facts.expected_record_count,
        "actual_records": d.record_count,
        "status": line.verdict,
        "problem": line.problem,
        "alert_id": line.alert_id,
        "alert_status": line.alert_status,
        "agrees_with_alert": line.agrees,
    }


def order_json(report: OrderReport) -> dict[str, Any]:
    """The report as `ledger report order --json` and GET /api/reports/orders/{id} give it."""
    o = report.order
    return {
        "order_id": o.order_id,
        "order_type": o.order_type,
        "case_reference": o.case_reference,
        "event_id": o.event_id,
        "received_at": _iso(report.received_at),
        "notice_hours": o.notice_hours,  # as first recorded; `terms` has them over time
        "bulk_threshold": o.bulk_threshold,
        "terms": [_terms_json(t) for t in report.terms],
        "changes": [
            _change_json(c, report.change_received.get(c.event_id)) for c in report.changes
        ],
        "transmissions": [_line_json(line) for line in report.lines],
        "violations": report.violations,
        "disagreements": report.disagreements,
    }


def stays_json(reports: Iterable[OrderReport]) -> dict[str, Any]:
    """`ledger report stays --json`."""
    return {"orders": [order_json(r) for r in reports]}


def notices_of(lines: Sequence[Verdict]) -> list[NoticeFacts]:
    """The notices the verdicts rest on, once each, by filing time."""
    seen = {line.notice.facts.event_id: line.notice.facts for line in lines if line.notice}
    return sorted(seen.values(), key=lambda n: (n.filed_at, n.event_id))
