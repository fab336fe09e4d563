"""The dashboard, rendered on the server: no build step, nothing loaded from the internet."""

from __future__ import annotations

import math
from datetime import date, timedelta
from html import escape
from typing import Any
from urllib.parse import urlencode

import psycopg
from psycopg.rows import dict_row

from ledger.store import queries

# Every list on the page is capped; a cut list says so.
SERIES_MAX = 4000  # days in the chart (about eleven years)
ROWS_MAX = 500  # drill-down entries, notice-compliance rows, alerts
SCOPES_MAX = 1000  # choices in the scope menu

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:1.5rem;color:#1d2433;max-width:1200px}
h1{font-size:1.4rem;margin:0 0 .2rem} h2{font-size:1.1rem;margin:1.6rem 0 .5rem}
table{border-collapse:collapse;width:100%;font-size:.85rem} td,th{border-bottom:1px solid #dde;padding:.3rem .4rem;text-align:left}
th{background:#f3f5f9} .crit{color:#b00020;font-weight:600} .warn{color:#a15c00} .ok{color:#11703a}
.muted{color:#667} svg{background:#fbfcfe;border:1px solid #dde} form{margin:.5rem 0}
.legend span{margin-right:1rem} a{color:#1f4fbf}
"""


def page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>{body}</body></html>")  # fmt: skip


def login_page(message: str = "") -> str:
    note = f"<p class=crit>{escape(message)}</p>" if message else ""
    return page(
        "Disclosure Ledger: sign in",
        f"""<h1>Disclosure Ledger</h1>{note}
<form method=post action=/login><label>API token <input name=token type=password size=60 autofocus></label>
<button type=submit>Open dashboard</button></form>
<p class=muted>Create a token with <code>ledger token create --role overseer --name NAME</code>.</p>""",
    )


def _scope_values(conn: psycopg.Connection, kind: str) -> list[str]:
    rows = conn.execute(
        "SELECT DISTINCT scope_value FROM daily_volume WHERE scope_kind = %s ORDER BY 1 LIMIT %s",
        (kind, SCOPES_MAX),
    )
    return [r[0] for r in rows]


def _default_scope(conn: psycopg.Connection, kind: str) -> str | None:
    row = conn.execute(
        "SELECT scope FROM alerts WHERE rule = 'spike_over_prior_year' AND scope LIKE %s ORDER BY day DESC LIMIT 1",
        (f"% -> {kind} %",),
    ).fetchone()
    if row:
        return str(row[0]).split(f" -> {kind} ", 1)[1]
    values = _scope_values(conn, kind)
    return values[0] if values else None


def chart(series: list[dict[str, Any]], alert_days: dict[date, str], link: dict[str, str]) -> str:
    """Daily records as bars (log scale), the prior-365-day total as a line, alert days marked."""
    if not series:
        return "<p class=muted>No volume for this scope yet.</p>"
    width, height, pad = 1100, 320, 40
    first, last = series[0]["day"], series[-1]["day"]
    span = max((last - first).days, 1)
    top = max(max(r["records"], r["prior_365_records"]) for r in series)
    scale = math.log10(top + 1) or 1

    def x(d: date) -> float:
        return float(pad + (width - 2 * pad) * (d - first).days / span)

    def y(v: float) -> float:
        return height - pad - (height - 2 * pad) * math.log10(v + 1) / scale

    parts = [f'<svg id=volume-chart role=img aria-label="daily volume" width={width} height={height} '
             f'viewBox="0 0 {width} {height}">']  # fmt: skip
    for power in range(0, int(scale) + 1):
        yy = y(10**power - 1)
        parts.append(f'<line x1={pad} x2={width - pad} y1={yy:.1f} y2={yy:.1f} stroke="#eef"/>'
                     f'<text x=2 y={yy + 4:.1f} font-size=10 fill="#889">{10**power:,}</text>')  # fmt: skip
    month = date(first.year, first.month, 1)
    while month <= last:  # month ticks along the bottom
        if month >= first:
            parts.append(f'<text x={x(month):.1f} y={height - pad + 16} font-size=10 fill="#889" '
                         f'text-anchor=middle>{month:%b %Y}</text>')  # fmt: skip
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    bar = max((width - 2 * pad) / (span + 1) * 0.8, 1.0)
    for r in series:
        d, v = r["day"], r["records"]
        rule = alert_days.get(d)
        colour = (
            "#b00020" if rule == "spike_over_prior_year" else ("#e08a00" if rule else "#5b7bd5")
        )
        href = "/?" + urlencode({**link, "day": d.isoformat()})
        parts.append(f'<a href="{escape(href)}"><rect class="day{" alert-day" if rule else ""}" data-day="{d}" '
                     f'x={x(d) - bar / 2:.1f} y={y(v):.1f} width={bar:.1f} height={max(y(0) - y(v), 1):.1f} '
                     f'fill="{colour}"><title>{d}: {v:,} records; prior 365 days {r["prior_365_records"]:,}'
                     f'{" - " + rule if rule else ""}</title></rect></a>')  # fmt: skip
        if rule == "spike_over_prior_year":
            parts.append(f'<circle class=spike-marker data-day="{d}" cx={x(d):.1f} cy={y(v) - 8:.1f} r=5 fill="#b00020"/>'
                         f'<text x={x(d) + 8:.1f} y={y(v) - 4:.1f} font-size=11 fill="#b00020">spike {d}</text>')  # fmt: skip
    points = " ".join(f"{x(r['day']):.1f},{y(r['prior_365_records']):.1f}" for r in series)
    parts.append(
        f'<polyline id=prior-year-line points="{points}" fill=none stroke="#11703a" stroke-width=1.5/>'
    )
    parts.append("</svg>")
    legend = ('<p class=legend><span style="color:#5b7bd5">&#9632; records per day</span>'
              '<span style="color:#11703a">&#9473; sum of the 365 days before (the line a spike crosses)</span>'
              '<span style="color:#b00020">&#9679; spike over the prior year</span>'
              '<span style="color:#e08a00">&#9632; other alert</span> (log scale; click a day for its entries)</p>')  # fmt: skip
    return "".join(parts) + legend


def _notice_compliance(conn: psycopg.Connection) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute("""
            SELECT d.event_id::text, d.day, d.transmitted_at, d.recipient_agency, d.record_count,
                   (o.record->>'bulk_threshold')::bigint AS threshold, o.order_id,
                   n.notice_id, n.filed_at, d.transmitted_at - n.filed_at AS lead,
                   EXISTS (SELECT 1 FROM alerts a WHERE a.rule = 'bulk_without_notice'
                           AND d.event_id::text = ANY(a.evidence)) AS alerted
            FROM disclosures d
            JOIN court_orders o ON o.order_type = 'NOTICE_REQUIREMENT'
                 AND d.transmitted_at >= o.effective_at AND (o.expires_at IS NULL OR d.transmitted_at < o.expires_at)
                 AND (jsonb_array_length(o.record->'recipients') = 0 OR o.record->'recipients' ? d.recipient_agency)
                 AND d.record_count >= COALESCE((o.record->>'bulk_threshold')::bigint, 0)
            LEFT JOIN LATERAL (SELECT notice_id, filed_at FROM notices n WHERE n.recipient_agency = d.recipient_agency
                               AND n.filed_at <= d.transmitted_at ORDER BY n.filed_at DESC LIMIT 1) n ON TRUE
            ORDER BY d.transmitted_at DESC LIMIT %s""", (ROWS_MAX,))  # fmt: skip
        return list(reversed(cur.fetchall()))


def render_dashboard(
    conn: psycopg.Connection, kind: str, scope: str | None, day: date | None,
    since: date | None = None, until: date | None = None,
) -> tuple[str, int]:  # fmt: skip
    scope = scope or _default_scope(conn, kind)
    series = (
        queries.volume_series(conn, kind, None, scope, since, until, SERIES_MAX + 1)
        if scope
        else []
    )
    cut_series = len(series) > SERIES_MAX
    series = series[:SERIES_MAX]
    alerts = queries.alerts(conn, None, None, ROWS_MAX)
    alert_days: dict[date, str] = {}
    for a in alerts:
        in_scope = (scope and a["scope"].endswith(f" -> {kind} {scope}")) or (
            kind == "source" and a["scope"] == scope
        )
        if in_scope and alert_days.get(a["day"]) != "spike_over_prior_year":
            alert_days[a["day"]] = a["rule"]
    link = {"kind": kind, "scope": scope or ""}
    link |= {k: v.isoformat() for k, v in (("since", since), ("until", until)) if v}
    span = "".join(f' {label} <input type=date name={k} value="{v.isoformat() if v else ""}">'
                   for k, label, v in (("since", "from", since), ("until", "to", until)))  # fmt: skip
    options = "".join(f"<option{' selected' if v == scope else ''}>{escape(v)}</option>"
                      for v in _scope_values(conn, kind))  # fmt: skip
    kinds = "".join(
        f"<option{' selected' if k == kind else ''}>{k}</option>"
        for k in ("recipient", "authority", "source")
    )
    body = [
        f"""<h1>Disclosure Ledger</h1><p class=muted>Every disclosure of taxpayer data, its daily volume against
the prior year, and the rules it broke. Every view of this page is itself recorded in the ledger.</p>
<form method=get action=/><select name=kind>{kinds}</select> <select name=scope>{options}</select>{span}
<button>Show</button></form><h2>Daily volume: {escape(kind)} {escape(scope or "")}</h2>{chart(series, alert_days, link)}"""
    ]
    if cut_series:
        body.append(
            f"<p class=muted>Showing the first {SERIES_MAX:,} days; choose a later start date for the rest.</p>"
        )
    if day:
        body.append(_drilldown(conn, kind, scope, day, link))
    body.append("<h2 id=alerts>Alerts</h2><table><tr><th>day</th><th>rule</th><th>scope</th><th>observed</th>"
                "<th>threshold</th><th>delivery</th><th>acknowledged</th></tr>")  # fmt: skip
    for a in reversed(alerts):
        cls = (
            "crit"
            if a["severity"] == "critical"
            else ("warn" if a["severity"] == "warning" else "")
        )
        threshold = "" if a["threshold"] is None else f"{a['threshold']:,}"
        body.append(f"<tr class='alert-row'><td>{a['day']}</td><td class={cls}>{escape(a['rule'])}</td>"
                    f"<td title='{escape(a['message'])}'>{escape(a['scope'])}</td><td>{a['observed']:,}</td>"
                    f"<td>{threshold}</td><td>{escape(a['delivery'] or 'not configured')}</td>"
                    f"<td>{escape(a['acknowledged_by'] or '-')}</td></tr>")  # fmt: skip
    body.append("</table><h2 id=notices>Notice compliance for bulk transmissions</h2><table><tr><th>transmitted</th>"
                "<th>recipient</th><th>records</th><th>order</th><th>notice</th><th>filed before</th><th>status</th></tr>")  # fmt: skip
    for n in _notice_compliance(conn):
        lead = n["lead"]
        lead_text = (
            "no notice"
            if lead is None
            else f"{int(lead.total_seconds() // 3600)}h{int(lead.total_seconds() % 3600 // 60):02d}m"
        )
        status = (
            "<span class=crit>alert</span>" if n["alerted"] else "<span class=ok>complied</span>"
        )
        body.append(f"<tr><td>{n['transmitted_at']:%Y-%m-%d %H:%M}Z</td><td>{escape(n['recipient_agency'])}</td>"
                    f"<td>{n['record_count']:,}</td><td>{escape(n['order_id'])}</td><td>{escape(n['notice_id'] or '-')}</td>"
                    f"<td>{lead_text}</td><td>{status}</td></tr>")  # fmt: skip
    body.append("</table>")
    return page("Disclosure Ledger", "".join(body)), len(series) + len(alerts)


def _drilldown(
    conn: psycopg.Connection, kind: str, scope: str | None, day: date, link: dict[str, str]
) -> str:
    column = {
        "recipient": "recipient_agency",
        "authority": "legal_authority",
        "source": "source_agency",
    }[kind]
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(f"SELECT event_id::text, transmitted_at, recipient_agency, legal_authority, record_count, purpose"
                    f" FROM disclosures WHERE day = %s AND ({column} = %s OR %s::text IS NULL) ORDER BY transmitted_at"
                    " LIMIT %s", (day, scope, scope, ROWS_MAX + 1))  # fmt: skip
        rows = list(cur.fetchall())
    shown = f"first {ROWS_MAX}" if len(rows) > ROWS_MAX else str(len(rows))
    rows = rows[:ROWS_MAX]
    out = [f"<h2 id=drilldown>Entries on {day} ({shown})</h2><table><tr><th>transmitted</th><th>recipient</th>"
           "<th>authority</th><th>records</th><th>purpose</th><th>proof</th></tr>"]  # fmt: skip
    for r in rows:
        out.append(f"<tr class=entry><td>{r['transmitted_at']:%H:%M:%S}Z</td><td>{escape(r['recipient_agency'])}</td>"
                   f"<td>{escape(r['legal_authority'])}</td><td>{r['record_count']:,}</td><td>{escape(r['purpose'])}</td>"
                   f"<td><a class=proof-link download href='/api/entries/{r['event_id']}/proof'>download proof</a></td></tr>")  # fmt: skip
    prev_day, next_day = day - timedelta(days=1), day + timedelta(days=1)
    nav = urlencode(link)
    out.append(f"</table><p><a href='/?{nav}&day={prev_day}'>&larr; {prev_day}</a> &middot; "
               f"<a href='/?{nav}&day={next_day}'>{next_day} &rarr;</a></p>")  # fmt: skip
    return "".join(out)
