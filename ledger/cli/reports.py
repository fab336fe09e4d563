"""`ledger report p3c` and `ledger report order`: the reports the law and the courts ask for.

Each is recorded as a LedgerAccessed event (role auditor), like the other reads.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from ledger.cli.common import JsonFlag, record_access, settings
from ledger.cli.output import console, print_json, print_table

report_app = typer.Typer(
    help="Reports: the JCT 6103(p)(3)(C) table, a notice order's transmissions."
)


def _lead(delta: timedelta | None) -> str:
    if delta is None:
        return "-"
    minutes = int(delta.total_seconds() // 60)
    sign = "-" if minutes < 0 else ""
    return f"{sign}{abs(minutes) // 60}h{abs(minutes) % 60:02d}m"


@report_app.command("p3c")
def p3c(
    year: Annotated[
        str, typer.Option("--year", help="Calendar year (LEDGER_TIMEZONE), e.g. 2025.")
    ],
    json_out: JsonFlag = False,
) -> None:
    """The 6103(p)(3)(C) report to the Joint Committee on Taxation for one calendar year."""
    from ledger.ops.reports import UNIT, p3c_json, p3c_report, parse_year
    from ledger.rules.config import load_registry
    from ledger.runtime import open_ledger
    from ledger.store.connection import connection

    chosen = parse_year(year)
    s = settings()
    ledger = open_ledger(s, prepare=False)
    with connection(ledger.reader_url, ledger.schema) as conn:
        report = p3c_report(conn, chosen, s.timezone, load_registry(s.registry_file))
    record_access(ledger, "auditor", "report p3c", {"year": chosen}, len(report.rows) - 1)
    if json_out:
        print_json(p3c_json(report))
        return
    print_table(
        f"26 U.S.C. 6103(p)(3)(C): disclosures in calendar year {report.year} ({report.timezone})",
        [
            "Disclosure To/For",
            "IRC Section 6103 subsection",
            "requests",
            "transmissions",
            "records",
            "disclosures",
        ],
        [
            [
                r.recipient,
                r.authority,
                f"{r.requests:,}",
                f"{r.transmissions:,}",
                f"{r.records:,}",
                f"{r.disclosures:,}",
            ]
            for r in report.rows
        ],
    )
    console.print(f"Unit: {UNIT}.")


@report_app.command("order")
def order(
    order_id: Annotated[str, typer.Argument(help="The court order's order_id.")],
    json_out: JsonFlag = False,
) -> None:
    """Every transmission a notice order covers: notice lead time, noticed vs actual, status."""
    from ledger.ops.reports import order_json, order_report
    from ledger.rules.config import load_registry
    from ledger.runtime import open_ledger
    from ledger.store.connection import connection

    s = settings()
    ledger = open_ledger(s, prepare=False)
    with connection(ledger.reader_url, ledger.schema) as conn:
        report = order_report(conn, order_id, load_registry(s.registry_file))
    record_access(ledger, "auditor", "report order", {"order_id": order_id}, len(report.lines))
    if json_out:
        print_json(order_json(report))
        return
    o = report.order
    print_table(
        f"Order {o.order_id} ({o.case_reference}, {o.notice_hours}h notice): "
        f"{len(report.lines)} transmissions, {report.violations} violations",
        ["transmitted", "disclosure", "recipient", "notice", "lead", "noticed", "actual", "status"],
        [
            [
                line.transmitted_at.strftime("%Y-%m-%d %H:%MZ"),
                line.disclosure_id,
                line.recipient,
                line.notice_id or "-",
                _lead(line.lead),
                "-" if line.noticed is None else f"{line.noticed:,}",
                f"{line.records:,}",
                line.status if line.problem is None else f"{line.status}: {line.problem}",
            ]
            for line in report.lines
        ],
    )
