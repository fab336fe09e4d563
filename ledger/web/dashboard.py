"""The dashboard, rendered on the server: no build step, nothing loaded from the internet.

Everything it shows is read through ``ledger.store``; the notice-compliance verdicts come from
the order reports, that is the judgement the alerts come from (``ledger.web.notices``).
"""

from __future__ import annotations

from datetime import UTC, date, timedelta
from html import escape
from urllib.parse import urlencode

from ledger.rules.config import RulesConfig, load_rules_config
from ledger.rules.model import SCOPE_KINDS
from ledger.rules.registry import Registry
from ledger.store import Connection, queries
from ledger.store import dashboard as store
from ledger.store.alert_pages import AlertFilter, AlertPage, alert_page
from ledger.store.alerts import alerts_in_scope
from ledger.store.query_rows import AlertRow
from ledger.web.chart import SPIKE, chart
from ledger.web.notices import load_notice_rows, notice_table
from ledger.web.page import page as html_page
from ledger.web.page import table_head

# Every list on the page is capped; a cut list says so.
SERIES_MAX = 4000  # days in the chart (about eleven years)
ROWS_MAX = 500  # drill-down entries, notice-compliance rows, alerts
SCOPES_MAX = 1000  # choices in the scope menu
KINDS = SCOPE_KINDS


def _default_scope(conn: Connection, kind: str) -> str | None:
    """The scope of the latest spike on this kind of scope, else the first scope there is."""
    spiked = alerts_in_scope(conn, kind, rule="spike_over_prior_year", limit=1)
    if spiked:
        return str(spiked[0]["scope_value"])
    values = store.scope_values(conn, kind, SCOPES_MAX)
    return values[0] if values else None


def _alert_days(alerts: list[AlertRow], kind: str, scope: str | None) -> dict[date, str]:
    """The rule to mark each day of the chart with (a spike before any other)."""
    days: dict[date, str] = {}
    for a in alerts:
        shown = a.scope_source if kind == "source" else a.scope_value
        in_scope = bool(scope) and a.scope_kind == kind and shown == scope
        if in_scope and days.get(a.day) != SPIKE:
            days[a.day] = a.rule
    return days


def _form(
    conn: Connection, kind: str, scope: str | None, since: date | None, until: date | None
) -> str:
    kinds = "".join(f"<option{' selected' if k == kind else ''}>{k}</option>" for k in KINDS)
    options = "".join(
        f"<option{' selected' if v == scope else ''}>{escape(v)}</option>"
        for v in store.scope_values(conn, kind, SCOPES_MAX)
    )
    span = "".join(
        f' {label} <input type=date name={k} value="{v.isoformat() if v else ""}">'
        for k, label, v in (("since", "from", since), ("until", "to", until))
    )
    return (
        f"<form method=get action=/><select name=kind>{kinds}</select>"
        f" <select name=scope>{options}</select>{span}\n<button>Show</button></form>"
    )


def _alerts_table(page: AlertPage, link: dict[str, str]) -> str:
    out = [
        "<h2 id=alerts>Alerts</h2><p class=muted>Open critical alerts first, then the newest.</p>",
        table_head(
            "day", "rule", "scope", "status", "observed", "threshold", "delivery", "acknowledged"
        ),
    ]
    for a in page.alerts:
        severity = {"critical": "crit", "warning": "warn"}.get(a.severity, "")
        threshold = "" if a.threshold is None else f"{a.threshold:,}"
        status = escape(a.status)  # the row's class too: open or resolved
        out.append(
            f"<tr class='alert-row {status}'><td>{a.day}</td>"
            f"<td class={severity}>{escape(a.rule)}</td>"
            f"<td title='{escape(a.message)}'>{escape(a.scope)}</td>"
            f"<td title='{escape(a.status_reason or '')}'>{status}</td>"
            f"<td>{a.observed:,}</td>"
            f"<td>{threshold}</td><td>{escape(a.delivery or 'not configured')}</td>"
            f"<td>{escape(a.acknowledged_by or '-')}</td></tr>"
        )
    out.append("</table>")
    if page.next_cursor:
        after = escape(urlencode({**link, "cursor": page.next_cursor}))
        out.append(
            f"<p class=more>{page.more:,} more alerts: <a href='/?{after}#alerts'>next"
            f" {ROWS_MAX}</a></p>"
        )
    return "".join(out)


def _drilldown(
    conn: Connection,
    kind: str,
    scope: str | None,
    day: date,
    link: dict[str, str],
    registry: Registry,
) -> str:
    # Scopes are canonical ids and the table holds each event's own text: the registry says
    # which of the day's spellings count under the scope.
    flows = None
    if scope:
        flows = [f for f in store.day_flows(conn, day) if registry.counts_under(kind, scope, *f)]
    rows = store.day_disclosures(conn, day, flows, ROWS_MAX + 1)
    shown = f"first {ROWS_MAX}" if len(rows) > ROWS_MAX else str(len(rows))
    out = [
        f"<h2 id=drilldown>Entries on {day} ({shown})</h2>",
        table_head("transmitted", "recipient", "authority", "records", "purpose", "proof"),
    ]
    for r in rows[:ROWS_MAX]:
        proof = f"/api/entries/{r['event_id']}/proof"
        out.append(
            f"<tr class=entry><td>{r['transmitted_at'].astimezone(UTC):%H:%M:%S}Z</td>"
            f"<td>{escape(r['recipient_agency'])}</td><td>{escape(r['legal_authority'])}</td>"
            f"<td>{r['record_count']:,}</td><td>{escape(r['purpose'])}</td>"
            f"<td><a class=proof-link download href='{proof}'>download proof</a></td></tr>"
        )
    prev_day, next_day = day - timedelta(days=1), day + timedelta(days=1)
    nav = urlencode(link)
    out.append(
        f"</table><p><a href='/?{nav}&day={prev_day}'>&larr; {prev_day}</a> &middot; "
        f"<a href='/?{nav}&day={next_day}'>{next_day} &rarr;</a></p>"
    )
    return "".join(out)


def render_dashboard(
    conn: Connection,
    kind: str,
    scope: str | None,
    day: date | None,
    since: date | None = None,
    until: date | None = None,
    config: RulesConfig | None = None,
    cursor: str | None = None,
) -> tuple[str, int]:
    """The page, and how many rows it shows (for the access record); ``config`` (the rules
    the volume consumer uses, by default the shipped ones) resolves scopes and judges the
    notice orders; ``cursor`` (a "more alerts" link's) pages the alerts table."""
    config = config or load_rules_config()
    registry = config.registry
    scope = scope or _default_scope(conn, kind)
    series = (
        queries.volume_series(conn, kind, None, scope, since, until, SERIES_MAX + 1)
        if scope
        else []
    )
    cut_series = len(series) > SERIES_MAX
    series = series[:SERIES_MAX]
    page = alert_page(conn, AlertFilter(), ROWS_MAX, cursor)
    # The chart marks the days of this scope's own alerts, whichever page the table shows.
    marked = (
        alert_page(conn, AlertFilter(kind=kind, value=scope), SERIES_MAX).alerts if scope else []
    )
    link = {"kind": kind, "scope": scope or ""}
    link |= {k: v.isoformat() for k, v in (("since", since), ("until", until)) if v}
    body = [
        "<h1>Disclosure Ledger</h1><p class=muted>Every disclosure of taxpayer data, its daily"
        " volume against\nthe prior year, and the rules it broke. Every view of this page is"
        " itself recorded in the ledger.</p>\n",
        _form(conn, kind, scope, since, until),
        f"<h2>Daily volume: {escape(kind)} {escape(scope or '')}</h2>",
        chart(series, _alert_days(marked, kind, scope), link),
    ]
    if cut_series:
        body.append(
            f"<p class=muted>Showing the first {SERIES_MAX:,} days;"
            " choose a later start date for the rest.</p>"
        )
    if day:
        body.append(_drilldown(conn, kind, scope, day, link, registry))
    body.append(_alerts_table(page, link))
    body.append(notice_table(*load_notice_rows(conn, ROWS_MAX, config)))
    return html_page("Disclosure Ledger", "".join(body)), len(series) + len(page.alerts)
