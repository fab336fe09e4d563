"""`ledger report p3c` and `ledger report order`: the reports the law and the courts ask for.

Each is recorded as a LedgerAccessed event (role auditor), like the other reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ledger.cli.common import JsonFlag, record_access, settings
from ledger.cli.output import console, print_json, print_table
from ledger.rules.reports import P3CRow

report_app = typer.Typer(
    help="Reports: the JCT 6103(p)(3)(C) table, a notice order's transmissions."
)


def _lead(delta: timedelta | None) -> str:
    if delta is None:
        return "-"
    minutes = int(delta.total_seconds() // 60)
    sign = "-" if minutes < 0 else ""
    return f"{sign}{abs(minutes) // 60}h{abs(minutes) % 60:02d}m"


P3C_HEADERS = (
    "Disclosure To/For",
    "IRC Section 6103 subsection",
    "Requests\n(events)",
    "Transmissions\n(events)",
    "Records\n(taxpayer records)",
    "Disclosures\n(records x tax periods)",
    "Taxpayers\n(distinct refs)",
    "Amended\n(transmissions)",
)


def _taxpayers(row: P3CRow) -> str:
    if row.taxpayers is None:
        return "n/a"
    return f"{row.taxpayers:,}" + ("+" if row.unlisted else "")


def _p3c_cells(row: P3CRow) -> list[str]:
    mark = "*" if row.amended else ""
    return [
        row.recipient,
        row.authority,
        f"{row.requests:,}",
        f"{row.transmissions:,}",
        f"{row.records:,}{mark}",
        f"{row.disclosures:,}{mark}",
        _taxpayers(row),
        f"{row.amended:,}",
    ]


def print_wide_table(
    title: str, headers: Sequence[str], rows: list[list[str]], numeric: Sequence[int] = ()
) -> None:
    """A table that never cuts a value: text wraps between words, a ``numeric`` column is never
    wrapped (its header breaks only where it has a newline), and no cell ends in an ellipsis. Where the terminal is narrower than the longest
    words and full numbers need, the lines run past it (the terminal wraps them) rather than
    lose digits."""
    table = Table(title=title)
    widths = []
    for i, header in enumerate(headers):
        cells = [header, *(row[i] for row in rows)]
        if i in numeric:
            table.add_column(header, justify="right", no_wrap=True)
            widths.append(max(len(line) for c in cells for line in c.splitlines() or [""]))
        else:
            table.add_column(header, overflow="fold")
            widths.append(max(len(w) for c in cells for w in c.split() or [""]))
    for row in rows:
        table.add_row(*row)
    need = sum(widths) + 3 * len(widths) + 1  # a space either side of each cell, and rules
    out = console if console.width >= need else Console(width=need, highlight=False)
    out.print(table)


@report_app.command("p3c")
def p3c(
    year: Annotated[
        str, typer.Option("--year", help="Calendar year (LEDGER_TIMEZONE), e.g. 2025.")
    ],
    source: Annotated[
        str | None,
        typer.Option("--source", help="Only this source agency (and the agencies within it)."),
    ] = None,
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
        report = p3c_report(conn, chosen, s.timezone, load_registry(s.registry_file), source)
    params = {"year": chosen, "source": report.source}
    record_access(ledger, "auditor", "report p3c", params, len(report.rows) - 2)
    if json_out:
        print_json(p3c_json(report))
        return
    of = "" if report.source is None else f" by {report.source}"
    print_wide_table(
        f"26 U.S.C. 6103(p)(3)(C): disclosures{of} in calendar year {report.year}"
        f" ({report.timezone})",
        P3C_HEADERS,
        [_p3c_cells(r) for r in report.rows],
        numeric=range(2, len(P3C_HEADERS)),
    )
    notes = [f"Units: {UNIT}."]
    amended = [r for r in report.rows[:-2] if r.amended]
    if amended:
        notes.append(
            "*: figures as first recorded; "
            + "; ".join(
                f"{r.recipient} {r.authority}: {r.amended:,} amended or withdrawn since,"
                f" {r.records_as_amended:,} records as amended"
                for r in amended
            )
            + "."
        )
    if any(r.unlisted and r.taxpayers is not None for r in report.rows):
        notes.append("+: some transmissions in the row list no taxpayers; the count is a floor.")
    for note in notes:
        console.print(note, soft_wrap=True, highlight=False)


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
