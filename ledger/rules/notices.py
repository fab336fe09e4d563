"""Notices under a notice order: which notice answers the order for a bulk transmission, and why
not. Used by bulk_without_notice, the dashboard's notice panel and the order report alike.

The order as the court wrote it: a notice belongs to the one order in force in its case when it
was filed; it is served on the court and the plaintiffs (not a blank, not the recipient); it
covers the transmissions in the window it announced (a window of at most MAX_NOTICE_WINDOW: a
notice announces a transmission, it is not a standing permission) up to the records it
announced; a transmission that cites a notice is judged by that notice alone; and the records of
one day's transmissions to a recipient, and those in one notice's window, are summed against
the bulk threshold, so ten transmissions of 999 are bulk under a threshold of 1,000.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from ledger.rules.model import CourtOrderFacts, DisclosureFacts, NoticeFacts
from ledger.rules.names import is_blank, name_key
from ledger.rules.orders import reaches
from ledger.rules.registry import Registry
from ledger.rules.requests import RequestFacts

# The longest window one notice may announce. The order requires notice before each
# transmission so that the court and the plaintiffs can act on it; a week covers a transfer run
# over several days, a year would be a standing permission no court order grants.
MAX_NOTICE_WINDOW = timedelta(days=7)
# The parties a notice must be served on, matched by words compared as names (folded confusable
# skeletons, ledger.rules.names), so 'U.S. District Court for the District of Columbia' and
# 'Counsel for plaintiffs' count and a look-alike spelling is read as what it looks like.
_PARTIES = {
    "the court": frozenset(name_key(w) for w in ("court", "clerk", "chambers", "judge")),
    "the plaintiffs": frozenset(name_key(w) for w in ("plaintiff", "plaintiffs")),
}


def _hours(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    sign = "-" if minutes < 0 else ""
    minutes = abs(minutes)
    return f"{sign}{minutes // 60}h{minutes % 60:02d}m"


def notice_problem(
    d: DisclosureFacts,
    order: CourtOrderFacts,
    notice: NoticeFacts,
    registry: Registry,
    used: int = 0,
) -> str | None:
    """Why this notice does not satisfy the order for this disclosure, or None if it does.

    A notice answers an order when it was filed in the order's case while the order was in
    force, for the authority the transmission cites (or a family of it: any spelling), and
    served on the court and the plaintiffs; it covers only the window (at most
    MAX_NOTICE_WINDOW) and the record count it announced: ``used`` records of earlier
    transmissions already count against its expected_record_count.
    """
    if notice.case_reference != order.case_reference:
        return (
            f"notice {notice.notice_id} was filed in {notice.case_reference}, not in the order's"
            f" case {order.case_reference}"
        )
    if not notice_authority_covers(notice, d, registry):
        return (
            f"notice {notice.notice_id} announced transmissions under {notice.legal_authority},"
            f" not {d.legal_authority}"
        )
    if not order.in_force(notice.filed_at):
        return (
            f"notice {notice.notice_id} was filed at {notice.filed_at:%Y-%m-%d %H:%M}Z, while"
            f" order {order.order_id} was not in force: a notice belongs to the order it was"
            " filed under"
        )
    unserved = service_problem(notice, d, registry)
    if unserved:
        return unserved
    window = notice.planned_end - notice.planned_start
    if window > MAX_NOTICE_WINDOW:
        return (
            f"notice {notice.notice_id} announces a window of {window.days} days; a notice"
            f" announces a transmission (at most {MAX_NOTICE_WINDOW.days} days), not a standing"
            " permission"
        )
    lead = d.transmitted_at - notice.filed_at
    if lead < order.notice_delta:
        return (
            f"notice {notice.notice_id} was filed {_hours(lead)} before the transmission; "
            f"the order requires {order.notice_hours}h"
        )
    if not notice.planned_start <= d.transmitted_at <= notice.planned_end:
        return (
            f"the transmission at {d.transmitted_at:%Y-%m-%d %H:%M}Z is outside notice "
            f"{notice.notice_id}'s planned window {notice.planned_start:%Y-%m-%d %H:%M}Z to "
            f"{notice.planned_end:%Y-%m-%d %H:%M}Z"
        )
    if used + d.record_count > notice.expected_record_count:
        earlier = f" after {used:,} already sent under it" if used else ""
        return (
            f"{d.record_count:,} records{earlier} exceed the {notice.expected_record_count:,}"
            f" noticed in {notice.notice_id}"
        )
    return None


def service_problem(notice: NoticeFacts, d: DisclosureFacts, registry: Registry) -> str | None:
    """Why the notice was not served on the court and the plaintiffs, or None. Blank entries
    count for nothing, and neither does an agency of the registry (the recipient is not a
    party to be notified): what is left must name the court and the plaintiffs."""
    words = {
        word
        for p in notice.served_on
        if not is_blank(p) and not registry.agency(p).known
        for word in re.findall(r"[^\W_]+", name_key(p))
    }
    missing = [who for who, names in _PARTIES.items() if not words & names]
    if not missing:
        return None
    return (
        f"notice {notice.notice_id} was not served on {' and '.join(missing)}"
        f" (served on: {', '.join(repr(p) for p in notice.served_on) or 'no one'})"
    )


def day_records(
    d: DisclosureFacts,
    order: CourtOrderFacts,
    same_day: Sequence[DisclosureFacts],
    registry: Registry,
) -> int:
    """The records of ``d`` and of the transmissions before it on its day (transmission time,
    then event id) to the same recipient that ``order`` covers: what is held against the bulk
    threshold, so a bulk transfer split into pieces under the threshold is still bulk."""
    recipient = registry.agency(d.recipient_agency).id
    key = (d.transmitted_at, d.event_id)
    return d.record_count + sum(
        r.record_count
        for r in same_day
        if r.event_id != d.event_id
        and r.day == d.day
        and (r.transmitted_at, r.event_id) < key
        and registry.agency(r.recipient_agency).id == recipient
        and order.covers(r.recipient_agency, r.legal_authority, registry)
    )


def window_records(
    d: DisclosureFacts,
    notices: Iterable[NoticeFacts],
    notice_use: Mapping[str, int],
    registry: Registry,
) -> int:
    """The records of ``d`` with those before it in the window of a notice that announced it
    (``notice_use``): a transfer announced as one is held against the threshold as one, over
    however many days it is spread."""
    recipient = registry.agency(d.recipient_agency).id
    return max(
        (
            notice_use.get(n.notice_id, 0) + d.record_count
            for n in notices
            if registry.agency(n.recipient_agency).id == recipient
            and n.planned_start <= d.transmitted_at <= n.planned_end
            and notice_authority_covers(n, d, registry)
        ),
        default=d.record_count,
    )


def may_split(
    d: DisclosureFacts,
    orders: Iterable[CourtOrderFacts],
    registry: Registry,
    requests: Mapping[str, RequestFacts] | None = None,
) -> bool:
    """Whether a notice order in force covers ``d`` with a threshold ``d`` alone is under: only
    then does the day's earlier traffic matter (the consumer loads it only then)."""
    return any(
        o.order_type == "NOTICE_REQUIREMENT"
        and o.in_force(d.transmitted_at)
        and o.bulk_threshold is not None
        and d.record_count < o.bulk_threshold
        and reaches(o, d, registry, requests)
        for o in orders
    )


def notice_authority_covers(notice: NoticeFacts, d: DisclosureFacts, registry: Registry) -> bool:
    """The notice names the transmission's authority or a family of it, in any spelling."""
    return (
        registry.authority(notice.legal_authority).id in registry.authority(d.legal_authority).chain
    )


@dataclass(frozen=True)
class NoticeCheck:
    """One notice order applied to one bulk transmission it covers."""

    order: CourtOrderFacts
    candidates: tuple[NoticeFacts, ...]  # filed for the recipient before it (the cited one, if any)
    notice: NoticeFacts | None  # the one that satisfies the order, else the latest candidate
    problem: str | None  # why the order is not satisfied; None when it is

    @property
    def complied(self) -> bool:
        return self.problem is None


def bulk_notice_checks(
    d: DisclosureFacts,
    orders: Iterable[CourtOrderFacts],
    notices: Iterable[NoticeFacts],
    registry: Registry,
    notice_use: Mapping[str, int] | None = None,
    requests: Mapping[str, RequestFacts] | None = None,
    same_day: Sequence[DisclosureFacts] = (),
) -> list[NoticeCheck]:
    """Every notice order in force at the transmission that covers it (its recipient, the
    agency that asked for it, parent routing; ``ledger.rules.orders.reaches``) and its size with
    the day's earlier transmissions (``same_day``) or those in the window of a notice that
    announced it (``window_records``), with the verdict on the notices: what
    bulk_without_notice alerts on and the dashboard shows. ``orders`` and ``notices`` may hold
    any others; they are passed over. ``notice_use`` gives the records each notice already
    covered before this transmission; ``requests`` the requests transmissions cite."""
    use = notice_use or {}
    checks = []
    for order in orders:
        if (
            order.order_type != "NOTICE_REQUIREMENT"
            or not order.in_force(d.transmitted_at)
            or not reaches(order, d, registry, requests)
        ):
            continue
        if order.bulk_threshold is not None and (
            max(
                day_records(d, order, same_day, registry), window_records(d, notices, use, registry)
            )
            < order.bulk_threshold
        ):
            continue
        checks.append(_judged(d, order, notices, registry, use))
    return checks


def _judged(
    d: DisclosureFacts,
    order: CourtOrderFacts,
    notices: Iterable[NoticeFacts],
    registry: Registry,
    use: Mapping[str, int],
) -> NoticeCheck:
    """The order's verdict on a bulk transmission: by the notice it cites when it cites one
    (that notice alone decides, wherever and whenever it was filed), else by the notices filed
    for its recipient before it."""
    recipient = registry.agency(d.recipient_agency).id  # a notice for "ICE" serves ICE
    mine = [n for n in notices if registry.agency(n.recipient_agency).id == recipient]
    if d.notice_id:
        candidates = [n for n in mine if n.notice_id == d.notice_id]
        if not candidates:
            why = f"the notice it cites, {d.notice_id}, was not filed for {d.recipient_agency}"
            return NoticeCheck(order, (), None, why)
    else:
        candidates = [n for n in mine if n.filed_at <= d.transmitted_at]
    judged = [
        (n, notice_problem(d, order, n, registry, use.get(n.notice_id, 0))) for n in candidates
    ]
    satisfying = [n for n, problem in judged if problem is None]
    if satisfying:
        return NoticeCheck(order, tuple(candidates), satisfying[0], None)
    if not judged:
        why = f"no notice was filed for {d.recipient_agency} before the transmission"
        return NoticeCheck(order, (), None, why)
    latest, why_not = max(judged, key=lambda pair: pair[0].filed_at)
    return NoticeCheck(order, tuple(candidates), latest, why_not)
