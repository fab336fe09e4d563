"""The reports officials run: the JCT 6103(p)(3)(C) table for a year and a notice order's
transmissions. Reads go through ``ledger.store.reports``; the counting is ``ledger.rules.reports``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ledger.errors import ExitCode, LedgerError
from ledger.rules.model import CourtOrderFacts, NoticeFacts
from ledger.rules.registry import Registry
from ledger.rules.reports import OrderLine, P3CRow, order_lines, p3c_rows
from ledger.storable import text_problem
from ledger.store import Connection
from ledger.store import reports as store
from ledger.store.volume import notices

_YEAR = re.compile(r"[0-9]{4}")
UNIT = (
    "disclosures = records x tax periods (one taxpayer x one tax period x one record, as the JCT"
    " counts); records = taxpayer records transmitted, as first recorded; transmissions ="
    " DisclosureRecorded events; requests = DisclosureRequested events received in the year;"
    " taxpayers = distinct taxpayer refs the transmissions list (n/a where none lists any, a floor"
    " where some do not); amended = transmissions amended or withdrawn since"
)


class ReportArgumentError(LedgerError):
    """A report was asked for something it cannot report on: a bad year, an order that is not a
    notice order."""

    exit_code = ExitCode.USAGE
    http_status = 422


class UnknownOrderError(ReportArgumentError):
    """No court order of that id is recorded."""

    http_status = 404


def parse_year(text: str) -> int:
    """A calendar year of four digits within the dates the ledger stores (1900..2200)."""
    if not _YEAR.fullmatch(text.strip()) or not 1900 <= int(text) <= 2200:
        raise ReportArgumentError("--year must be a calendar year of four digits, such as 2025.")
    return int(text)


@dataclass(frozen=True)
class P3CReport:
    year: int
    timezone: str
    rows: list[P3CRow]  # the last two are the 6103(i) subtotal and the TOTALS row
    source: str | None = None


def source_filter(conn: Connection, registry: Registry, source: str | None) -> list[str] | None:
    """Every stored spelling of ``source`` or of an agency within it (by canonical id), or None
    for every source."""
    if source is None:
        return None
    if text_problem(source) or not source.strip():
        raise ReportArgumentError("--source must name a source agency, such as IRS.")
    wanted = registry.agency(source).id
    return [t for t in store.source_spellings(conn) if wanted in registry.agency(t).chain]


def p3c_report(
    conn: Connection, year: int, tz: ZoneInfo, registry: Registry, source: str | None = None
) -> P3CReport:
    """The (p)(3)(C) table for calendar ``year`` in ``tz`` (LEDGER_TIMEZONE), recipients and
    authorities grouped by ``registry``; of one ``source`` agency if given (requests are the
    source's too)."""
    start = datetime(year, 1, 1, tzinfo=tz)
    end = datetime(year + 1, 1, 1, tzinfo=tz)
    sources = source_filter(conn, registry, source)
    disclosed = store.p3c_disclosures(conn, date(year, 1, 1), date(year, 12, 31), sources)
    requested = store.p3c_requests(conn, start, end, sources)
    shown = None if source is None else source.strip()
    return P3CReport(year, str(tz), p3c_rows(disclosed, requested, registry), shown)


@dataclass(frozen=True)
class OrderReport:
    order: CourtOrderFacts
    lines: list[OrderLine]

    @property
    def violations(self) -> int:
        return sum(1 for line in self.lines if line.problem is not None)


def order_report(conn: Connection, order_id: str, registry: Registry) -> OrderReport:
    """Every transmission notice order ``order_id`` covers, judged as bulk_without_notice does."""
    if text_problem(order_id) or not order_id.strip():
        raise ReportArgumentError("The order id must be text the ledger can hold (no NUL).")
    recorded = store.court_order(conn, order_id)
    if recorded is None:
        # The id is not echoed: whatever was typed there (a TIN by mistake) stays off screens.
        raise UnknownOrderError("No court order with that order id is recorded in the ledger.")
    order = CourtOrderFacts.from_event(recorded)
    if order.order_type != "NOTICE_REQUIREMENT":
        raise ReportArgumentError(
            f"That order is a {order.order_type} order; only a NOTICE_REQUIREMENT order has"
            " notices to report on."
        )
    candidates = store.transmissions_between(
        conn, order.effective_at, order.expires_at, order.bulk_threshold
    )
    filed = [
        NoticeFacts.from_event(n) for n in notices(conn, {d.recipient_agency for d in candidates})
    ]
    return OrderReport(order, order_lines(order, candidates, filed, registry))


def p3c_json(report: P3CReport) -> dict[str, Any]:
    """The report as `ledger report p3c --json` and GET /api/reports/p3c give it."""
    return {
        "year": report.year,
        "timezone": report.timezone,
        "source": report.source,
        "unit": UNIT,
        "rows": [
            {
                "recipient": r.recipient,
                "subsection": r.authority,
                "requests": r.requests,
                "transmissions": r.transmissions,
                "records": r.records,
                "disclosures": r.disclosures,
                "taxpayers": r.taxpayers,
                "transmissions_without_refs": r.unlisted,
                "amended": r.amended,
                "records_as_amended": r.records_as_amended,
            }
            for r in report.rows
        ],
    }


def order_json(report: OrderReport) -> dict[str, Any]:
    """The report as `ledger report order --json` and GET /api/reports/orders/{id} give it."""
    o = report.order
    return {
        "order_id": o.order_id,
        "case_reference": o.case_reference,
        "notice_hours": o.notice_hours,
        "bulk_threshold": o.bulk_threshold,
        "transmissions": [
            {
                "disclosure_id": line.disclosure_id,
                "event_id": line.event_id,
                "transmitted_at": line.transmitted_at,
                "recipient": line.recipient,
                "authority": line.authority,
                "notice_id": line.notice_id,
                "lead_hours": None if line.lead is None else line.lead.total_seconds() / 3600,
                "noticed_records": line.noticed,
                "actual_records": line.records,
                "status": line.status,
                "problem": line.problem,
            }
            for line in report.lines
        ],
        "violations": report.violations,
    }
