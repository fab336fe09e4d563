"""The reports officials run: the JCT 6103(p)(3)(C) table for a year (a court order's report is
``ledger.ops.order_reports``). Reads go through ``ledger.store.reports``; the counting is
``ledger.rules.reports``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ledger.errors import LedgerError
from ledger.rules.registry import Registry
from ledger.rules.reports import P3CRow, p3c_rows
from ledger.storable import text_problem
from ledger.store import Connection
from ledger.store import reports as store

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


class UnknownOrderError(ReportArgumentError):
    """No court order of that id is recorded."""


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
