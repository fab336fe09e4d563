"""The reports officials run: the JCT 6103(p)(3)(C) table for a year (a court order's report is
``ledger.ops.order_reports``). Reads go through ``ledger.store.reports``; the counting is
``ledger.rules.reports``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ledger.errors import ExitCode, LedgerError
from ledger.rules.registry import Registry
from ledger.rules.reports import P3CRow, p3c_rows
from ledger.store import Connection
from ledger.store import reports as store

_YEAR = re.compile(r"[0-9]{4}")
UNIT = (
    "disclosures = records x tax periods (one taxpayer x one tax period x one record, as the JCT"
    " counts); records = taxpayer records transmitted; transmissions = DisclosureRecorded events;"
    " requests = DisclosureRequested events received in the year"
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
    rows: list[P3CRow]  # the last is the TOTALS row


def p3c_report(conn: Connection, year: int, tz: ZoneInfo, registry: Registry) -> P3CReport:
    """The (p)(3)(C) table for calendar ``year`` in ``tz`` (LEDGER_TIMEZONE), recipients and
    authorities grouped by ``registry``."""
    start = datetime(year, 1, 1, tzinfo=tz)
    end = datetime(year + 1, 1, 1, tzinfo=tz)
    disclosed = store.p3c_disclosures(conn, date(year, 1, 1), date(year, 12, 31))
    requested = store.p3c_requests(conn, start, end)
    return P3CReport(year, str(tz), p3c_rows(disclosed, requested, registry))


def p3c_json(report: P3CReport) -> dict[str, Any]:
    """The report as `ledger report p3c --json` and GET /api/reports/p3c give it."""
    return {
        "year": report.year,
        "timezone": report.timezone,
        "unit": UNIT,
        "rows": [
            {
                "recipient": r.recipient,
                "subsection": r.authority,
                "requests": r.requests,
                "transmissions": r.transmissions,
                "records": r.records,
                "disclosures": r.disclosures,
            }
            for r in report.rows
        ],
    }
