"""The reports officials run: the JCT 6103(p)(3)(C) table for a year and a notice order's
transmissions. Reads go through ``ledger.store.reports``; the counting is ``ledger.rules.reports``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from ledger.errors import ExitCode, LedgerError
from ledger.rules.model import CourtOrderFacts, NoticeFacts
from ledger.rules.reports import OrderLine, P3CRow, order_lines, p3c_rows
from ledger.store import Connection
from ledger.store import reports as store
from ledger.store.volume import notices

_YEAR = re.compile(r"[0-9]{4}")
UNIT = (
    "disclosures = records x tax periods (one taxpayer x one tax period x one record, as the JCT"
    " counts); records = taxpayer records transmitted; transmissions = DisclosureRecorded events;"
    " requests = DisclosureRequested events received in the year"
)


class ReportArgumentError(LedgerError):
    """A report was asked for something that is not there: a bad year, an unknown order."""

    exit_code = ExitCode.USAGE
    http_status = 404


def parse_year(text: str) -> int:
    """A calendar year of four digits within the dates the ledger stores (1900..2200)."""
    if not _YEAR.fullmatch(text.strip()) or not 1900 <= int(text) <= 2200:
        raise ReportArgumentError(f"--year must be a calendar year such as 2025, not {text!r}.")
    return int(text)


@dataclass(frozen=True)
class P3CReport:
    year: int
    timezone: str
    rows: list[P3CRow]  # the last is the TOTALS row


def p3c_report(conn: Connection, year: int, tz: ZoneInfo) -> P3CReport:
    """The (p)(3)(C) table for calendar ``year`` in ``tz`` (LEDGER_TIMEZONE)."""
    start = datetime(year, 1, 1, tzinfo=tz)
    end = datetime(year + 1, 1, 1, tzinfo=tz)
    disclosed = store.p3c_disclosures(conn, date(year, 1, 1), date(year, 12, 31))
    requested = store.p3c_requests(conn, start, end)
    return P3CReport(year, str(tz), p3c_rows(disclosed, requested))


@dataclass(frozen=True)
class OrderReport:
    order: CourtOrderFacts
    lines: list[OrderLine]

    @property
    def violations(self) -> int:
        return sum(1 for line in self.lines if line.problem is not None)


def order_report(conn: Connection, order_id: str) -> OrderReport:
    """Every transmission notice order ``order_id`` covers, judged as bulk_without_notice does."""
    recorded = store.court_order(conn, order_id)
    if recorded is None:
        raise ReportArgumentError(f"No court order {order_id!r} is recorded in the ledger.")
    order = CourtOrderFacts.from_event(recorded)
    if order.order_type != "NOTICE_REQUIREMENT":
        raise ReportArgumentError(
            f"Order {order_id!r} is a {order.order_type} order; only a NOTICE_REQUIREMENT order"
            " has notices to report on."
        )
    candidates = store.transmissions_between(
        conn, order.effective_at, order.expires_at, order.recipients, order.bulk_threshold
    )
    filed = [
        NoticeFacts.from_event(n) for n in notices(conn, {d.recipient_agency for d in candidates})
    ]
    return OrderReport(order, order_lines(order, candidates, filed))
