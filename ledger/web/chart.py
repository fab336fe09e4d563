"""The daily-volume chart: an inline SVG, log scale, the prior-year line, alert days marked."""

from __future__ import annotations

import math
from datetime import date
from html import escape
from urllib.parse import urlencode

from ledger.store.query_rows import VolumeDayRow

SPIKE = "spike_over_prior_year"
LEGEND = (
    '<p class=legend><span style="color:#5b7bd5">&#9632; records per day</span>'
    '<span style="color:#11703a">&#9473; sum of the 365 days before (the line a spike crosses)</span>'
    '<span style="color:#b00020">&#9679; spike over the prior year</span>'
    '<span style="color:#e08a00">&#9632; other alert</span>'
    " (log scale; click a day for its entries)</p>"
)


def chart(series: list[VolumeDayRow], alert_days: dict[date, str], link: dict[str, str]) -> str:
    """Daily records as bars (log scale), the prior-365-day total as a line, alert days marked."""
    if not series:
        return "<p class=muted>No volume for this scope yet.</p>"
    width, height, pad = 1100, 320, 40
    first, last = series[0].day, series[-1].day
    span = max((last - first).days, 1)
    top = max(max(r.records, r.prior_365_records) for r in series)
    scale = math.log10(top + 1) or 1

    def x(d: date) -> float:
        return float(pad + (width - 2 * pad) * (d - first).days / span)

    def y(v: float) -> float:
        return height - pad - (height - 2 * pad) * math.log10(v + 1) / scale

    parts = [
        f'<svg id=volume-chart role=img aria-label="daily volume" width={width} height={height} '
        f'viewBox="0 0 {width} {height}">'
    ]
    for power in range(0, int(scale) + 1):
        yy = y(10**power - 1)
        parts.append(
            f'<line x1={pad} x2={width - pad} y1={yy:.1f} y2={yy:.1f} stroke="#eef"/>'
            f'<text x=2 y={yy + 4:.1f} font-size=10 fill="#889">{10**power:,}</text>'
        )
    month = date(first.year, first.month, 1)
    while month <= last:  # month ticks along the bottom
        if month >= first:
            parts.append(
                f'<text x={x(month):.1f} y={height - pad + 16} font-size=10 fill="#889" '
                f"text-anchor=middle>{month:%b %Y}</text>"
            )
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    bar = max((width - 2 * pad) / (span + 1) * 0.8, 1.0)
    for r in series:
        d, v = r.day, r.records
        rule = alert_days.get(d)
        colour = "#b00020" if rule == SPIKE else ("#e08a00" if rule else "#5b7bd5")
        href = "/?" + urlencode({**link, "day": d.isoformat()})
        classes = "day alert-day" if rule else "day"
        parts.append(
            f'<a href="{escape(href)}"><rect class="{classes}" data-day="{d}" '
            f"x={x(d) - bar / 2:.1f} y={y(v):.1f} width={bar:.1f} "
            f'height={max(y(0) - y(v), 1):.1f} fill="{colour}">'
            f"<title>{d}: {v:,} records; prior 365 days {r.prior_365_records:,}"
            f"{' - ' + rule if rule else ''}</title></rect></a>"
        )
        if rule == SPIKE:
            parts.append(
                f'<circle class=spike-marker data-day="{d}" cx={x(d):.1f} cy={y(v) - 8:.1f} r=5'
                f' fill="#b00020"/><text x={x(d) + 8:.1f} y={y(v) - 4:.1f} font-size=11'
                f' fill="#b00020">spike {d}</text>'
            )
    points = " ".join(f"{x(r.day):.1f},{y(r.prior_365_records):.1f}" for r in series)
    parts.append(
        f'<polyline id=prior-year-line points="{points}" fill=none stroke="#11703a" stroke-width=1.5/>'
    )
    parts.append("</svg>")
    return "".join(parts) + LEGEND
