"""The notice-compliance panel: each bulk transmission a notice order covers, as its report says.

The rows are the lines of `ledger report order` (``ledger.ops.order_reports``), which come from
the judgement the alerts come from (``ledger.rules.order_verdicts``): a day's transmissions are
summed, a notice covers only what it announced, a request routes the data to the requesting
agency. The panel, the report and the alerts cannot disagree; the panel only picks the latest
lines that a notice order reached (small transmissions the day did not make bulk are left to the
report).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC
from html import escape

from ledger.ops.order_reports import OrderReport, build_report
from ledger.rules.config import RulesConfig
from ledger.rules.order_verdicts import NOT_BULK, VIOLATION, Verdict
from ledger.store import Connection
from ledger.store import reports as report_store
from ledger.web.page import table_head

NOTICE_ORDER = "NOTICE_REQUIREMENT"


def panel_lines(reports: Iterable[OrderReport], limit: int) -> tuple[list[Verdict], bool]:
    """The latest ``limit`` bulk lines of every notice order's report, oldest first, and
    whether older ones were left out."""
    lines = [
        line
        for report in reports
        if report.order.order_type == NOTICE_ORDER
        for line in report.lines
        if line.verdict != NOT_BULK
    ]
    lines.sort(key=lambda v: (v.disclosure.transmitted_at, v.disclosure.event_id, v.terms.order_id))
    return lines[-limit:] if limit else [], len(lines) > limit


def load_notice_rows(
    conn: Connection, limit: int, config: RulesConfig
) -> tuple[list[Verdict], bool]:
    """Every notice order's report, read as `ledger report order` reads it."""
    reports = [
        build_report(conn, o, config) for o in report_store.orders_of_types(conn, [NOTICE_ORDER])
    ]
    return panel_lines(reports, limit)


def _lead(line: Verdict) -> str:
    lead = line.lead
    if lead is None:
        return "no notice"
    seconds = lead.total_seconds()
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


def _verdict(line: Verdict) -> str:
    if line.verdict == VIOLATION:
        why = escape(line.problem or "", quote=True)
        return f"<span class=crit title='{why}'>violation</span>"
    return "<span class=ok>complied</span>"


def notice_table(lines: list[Verdict], cut: bool = False) -> str:
    out = [
        "<h2 id=notices>Notice compliance for bulk transmissions</h2>",
        table_head(
            "transmitted",
            "recipient",
            "records",
            "order",
            "notice",
            "filed before",
            "verdict",
            "alert",
        ),
    ]
    for line in lines:
        d = line.disclosure
        notice_id = line.notice.facts.notice_id if line.notice else "-"
        out.append(
            f"<tr class=notice-row><td>{d.transmitted_at.astimezone(UTC):%Y-%m-%d %H:%M}Z</td>"
            f"<td>{escape(d.recipient_agency)}</td><td>{d.record_count:,}</td>"
            f"<td>{escape(line.terms.order_id)}</td><td>{escape(notice_id)}</td>"
            f"<td>{_lead(line)}</td><td>{_verdict(line)}</td>"
            f"<td>{escape(line.alert_status)}</td></tr>"
        )
    out.append("</table>")
    if cut:
        out.append(
            f"<p class=muted>Showing the latest {len(lines):,} bulk transmissions;"
            " `ledger report order ORDER_ID` lists every one.</p>"
        )
    return "".join(out)
