"""`ledger report p3c`, `ledger report order` and `ledger report stays`: the reports the law and the courts ask for.

Each is recorded as a LedgerAccessed event (role auditor), like the other reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from ledger.cli.common import JsonFlag, record_access, settings
from ledger.cli.output import console, print_json
from ledger.rules.reports import P3CRow

if TYPE_CHECKING:
    from ledger.ops.order_reports import OrderReport

report_app = typer.Typer(
    help="Reports: the JCT 6103(p)(3)(C) table, a notice order's transmissions, stays."
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
    from ledger.rules.config import configured_rules
    from ledger.runtime import open_ledger
    from ledger.store.connection import connection

    chosen = parse_year(year)
    s = settings()
    ledger = open_ledger(s, prepare=False)
    with connection(ledger.reader_url, ledger.schema) as conn:
        report = p3c_report(conn, chosen, s.timezone, configured_rules(s).registry, source)
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


def _when(t: datetime | None) -> str:
    return "-" if t is None else t.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")


def _say(text: str) -> None:
    # soft_wrap: a line is never cut inside a word or a number, whatever the terminal's width.
    console.print(text, soft_wrap=True, highlight=False, markup=False)


def _print_order(report: OrderReport) -> None:
    """The order's terms over time, its changes, the notices the verdicts rest on, and the
    verdict on each transmission with the alert's status beside it, a line each."""
    from ledger.ops.order_reports import change_note, notices_of

    o = report.order
    _say(
        f"Order {o.order_id} ({o.order_type}, {o.case_reference}), event {o.event_id},"
        f" received {_when(report.received_at)}"
    )
    _say("Terms over time:")
    for t in report.terms:
        threshold = "-" if t.bulk_threshold is None else f"{t.bulk_threshold:,}"
        _say(
            f"  from {_when(t.effective_at)} until {_when(t.expires_at)}:"
            f" recipients {', '.join(t.recipients) or '(all)'};"
            f" authorities {', '.join(t.authorities) or '(all)'};"
            f" bulk threshold {threshold} records; notice {t.notice_hours}h"
        )
    for c in report.changes:
        got = _when(report.change_received.get(c.event_id))
        _say(f"  change event {c.event_id} (received {got}): {change_note(c)}")
    notices = notices_of(report.lines)
    if notices:
        _say("Notices the verdicts rest on:")
    for n in notices:
        _say(
            f"  {n.notice_id}: event {n.event_id}, served on"
            f" {', '.join(n.served_on) or '(nobody)'}, filed {_when(n.filed_at)},"
            f" received {_when(_received(report, n.event_id))}, window"
            f" {_when(n.planned_start)} .. {_when(n.planned_end)},"
            f" {n.expected_record_count:,} records announced"
        )
    _say(
        f"{len(report.lines)} transmissions covered, {report.violations} violations,"
        f" {report.disagreements} disagreeing with their alerts:"
    )
    for line in report.lines:
        d = line.disclosure
        notice = "no notice" if line.notice is None else f"notice {line.notice.facts.notice_id}"
        verdict = line.verdict if line.problem is None else f"{line.verdict} ({line.problem})"
        alert = (
            line.alert_status if line.alert_id is None else f"{line.alert_status} {line.alert_id}"
        )
        _say(
            f"  {_when(d.transmitted_at)} {d.disclosure_id} to {d.recipient_agency},"
            f" {d.record_count:,} records, {notice}, lead {_lead(line.lead)}: {verdict};"
            f" alert {alert}{'' if line.agrees else ' (DISAGREES)'}"
        )


def _received(report: OrderReport, event_id: str) -> datetime | None:
    for line in report.lines:
        if line.notice is not None and line.notice.facts.event_id == event_id:
            return line.notice.recorded_at
    return None


@report_app.command("order")
def order(
    order_id: Annotated[str, typer.Argument(help="The court order's order_id.")],
    json_out: JsonFlag = False,
) -> None:
    """A notice order's terms over time and every transmission it covers (small ones too):
    the notice each verdict rests on, lead time, the verdict and its alert's status."""
    from ledger.ops.order_reports import order_json, order_report
    from ledger.rules.config import configured_rules
    from ledger.runtime import open_ledger
    from ledger.store.connection import connection

    s = settings()
    ledger = open_ledger(s, prepare=False)
    with connection(ledger.reader_url, ledger.schema) as conn:
        report = order_report(conn, order_id, configured_rules(s))
    record_access(ledger, "auditor", "report order", {"order_id": order_id}, len(report.lines))
    if json_out:
        print_json(order_json(report))
        return
    _print_order(report)


@report_app.command("stays")
def stays(
    order_id: Annotated[
        str | None, typer.Option("--order", help="Only this stay or injunction.")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Every stay and injunction: its terms over time and the transmissions made while it
    stood, each with its disclosure_during_stay alert's status."""
    from ledger.ops.order_reports import stays_json, stays_report
    from ledger.rules.config import configured_rules
    from ledger.runtime import open_ledger
    from ledger.store.connection import connection

    s = settings()
    ledger = open_ledger(s, prepare=False)
    with connection(ledger.reader_url, ledger.schema) as conn:
        reports = stays_report(conn, configured_rules(s), order_id)
    lines = sum(len(r.lines) for r in reports)
    record_access(ledger, "auditor", "report stays", {"order_id": order_id}, lines)
    if json_out:
        print_json(stays_json(reports))
        return
    if not reports:
        console.print("No stay or injunction is recorded in the ledger.")
    for report in reports:
        _print_order(report)
