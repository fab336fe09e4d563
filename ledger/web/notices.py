"""The notice-compliance panel: each bulk transmission a notice order covers, judged by the rule.

The verdicts come from ``ledger.rules.notices.bulk_notice_checks``, the code the
bulk_without_notice alert is raised by, over the same stored orders and notices the volume
follower reads; the dashboard and the alerts cannot disagree about which order covers what.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

from ledger.rules.lifecycle import notice_use
from ledger.rules.model import CourtOrderFacts, DisclosureFacts, NoticeFacts
from ledger.rules.notices import NoticeCheck, bulk_notice_checks
from ledger.rules.registry import Registry
from ledger.store import Connection
from ledger.store.corrections import transmitted_within
from ledger.store.dashboard import BulkBounds, bulk_candidates
from ledger.store.orders import orders_now
from ledger.store.volume import notice_recipients, notice_records
from ledger.web.page import table_head

BATCH = 1000  # disclosures read at a time, newest first, until the panel is full


@dataclass(frozen=True)
class NoticeRow:
    disclosure: DisclosureFacts
    check: NoticeCheck


def notice_rows(
    disclosures: Iterable[DisclosureFacts],
    orders: Iterable[CourtOrderFacts],
    notices: Iterable[NoticeFacts],
    registry: Registry,
    announced: Mapping[str, Sequence[DisclosureFacts]] | None = None,
) -> list[NoticeRow]:
    """One row per disclosure and notice order covering it, in the disclosures' order.

    ``announced`` holds, by notice id, the transmissions within each notice's planned window:
    a notice covers only the records it announced, as the rule counts them.
    """
    orders = list(orders)
    by_recipient: dict[str, list[NoticeFacts]] = {}  # by canonical recipient
    for n in notices:
        by_recipient.setdefault(registry.agency(n.recipient_agency).id, []).append(n)
    rows = []
    for d in disclosures:
        mine = by_recipient.get(registry.agency(d.recipient_agency).id, [])
        others = {r.event_id: r for n in mine for r in (announced or {}).get(n.notice_id, ())}
        use = notice_use(d, mine, others.values(), registry)
        rows += [
            NoticeRow(d, check) for check in bulk_notice_checks(d, orders, mine, registry, use)
        ]
    return rows


def bulk_bounds(orders: Iterable[CourtOrderFacts]) -> BulkBounds | None:
    """A filter every disclosure some notice order could cover passes; None: no notice orders."""
    notice_orders = [o for o in orders if o.order_type == "NOTICE_REQUIREMENT"]
    if not notice_orders:
        return None
    ends = [o.expires_at for o in notice_orders]
    return BulkBounds(
        since=min(o.effective_at for o in notice_orders),
        until=None if None in ends else max(e for e in ends if e is not None),
        min_records=min(o.bulk_threshold or 0 for o in notice_orders),
        # Orders cover by canonical id and ancestry (one naming DHS covers ICE, however spelt),
        # which the raw recipient text cannot be filtered by: the rule decides per row.
        recipients=None,
    )


def load_notice_rows(
    conn: Connection, limit: int, registry: Registry
) -> tuple[list[NoticeRow], bool]:
    """The latest ``limit`` rows, oldest first, and whether older ones were left out."""
    orders = orders_now(conn)  # under their latest terms, as the rule judges
    bounds = bulk_bounds(orders)
    if bounds is None:
        return [], False
    notices: dict[str, list[NoticeFacts]] = {}  # by canonical recipient
    spellings: dict[str, list[str]] = {}  # the recipient texts notices were filed under
    for text in notice_recipients(conn):
        spellings.setdefault(registry.agency(text).id, []).append(text)
    announced: dict[str, list[DisclosureFacts]] = {}  # by notice id: transmissions in its window
    rows: list[NoticeRow] = []
    before: tuple[datetime, str] | None = None
    while len(rows) <= limit:
        batch = [DisclosureFacts(**r) for r in bulk_candidates(conn, bounds, before, BATCH)]
        recipients = {registry.agency(d.recipient_agency).id for d in batch}
        unread = recipients - notices.keys()
        for recipient in unread:
            notices[recipient] = []
        texts = [t for r in unread for t in spellings.get(r, [])]
        for record in notice_records(conn, texts) if texts else []:
            notice = NoticeFacts.from_record(record)
            notices[registry.agency(notice.recipient_agency).id].append(notice)
            announced[notice.notice_id] = transmitted_within(
                conn, notice.planned_start, notice.planned_end
            )
        mine = [n for r in recipients for n in notices[r]]
        rows += notice_rows(batch, orders, mine, registry, announced)
        if len(batch) < BATCH:
            break
        before = (batch[-1].transmitted_at, batch[-1].event_id)
    return rows[:limit][::-1], len(rows) > limit


def _lead(d: DisclosureFacts, notice: NoticeFacts | None) -> str:
    if notice is None:
        return "no notice"
    seconds = (d.transmitted_at - notice.filed_at).total_seconds()
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


def notice_table(rows: list[NoticeRow], cut: bool = False) -> str:
    out = [
        "<h2 id=notices>Notice compliance for bulk transmissions</h2>",
        table_head(
            "transmitted", "recipient", "records", "order", "notice", "filed before", "status"
        ),
    ]
    for row in rows:
        d, check = row.disclosure, row.check
        status = (
            "<span class=ok>complied</span>"
            if check.complied
            else f"<span class=crit title='{escape(check.problem or '')}'>no valid notice</span>"
        )
        notice_id = check.notice.notice_id if check.notice else "-"
        out.append(
            f"<tr class=notice-row><td>{d.transmitted_at.astimezone(UTC):%Y-%m-%d %H:%M}Z</td>"
            f"<td>{escape(d.recipient_agency)}</td><td>{d.record_count:,}</td>"
            f"<td>{escape(check.order.order_id)}</td><td>{escape(notice_id)}</td>"
            f"<td>{_lead(d, check.notice)}</td><td>{status}</td></tr>"
        )
    out.append("</table>")
    if cut:
        out.append(f"<p class=muted>Showing the latest {len(rows):,} bulk transmissions.</p>")
    return "".join(out)
