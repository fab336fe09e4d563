"""Notices under a notice order: which notice answers the order for a bulk transmission, and why
not. Used by bulk_without_notice, the dashboard's notice panel and the order report alike."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from ledger.rules.model import CourtOrderFacts, DisclosureFacts, NoticeFacts
from ledger.rules.registry import Registry


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

    A notice answers an order when it was filed in the order's case, for the authority the
    transmission cites (or a family of it: any spelling), and served on the parties; it covers only the transmissions and the
    record count it announced: ``used`` records of earlier transmissions already count against
    its expected_record_count.
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
    if not notice.served_on:
        return f"notice {notice.notice_id} was not served on the parties"
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
) -> list[NoticeCheck]:
    """Every notice order in force at the transmission that covers its recipient, authority and
    size, with the verdict on the notices: what bulk_without_notice alerts on and the dashboard
    shows. ``orders`` and ``notices`` may hold any others; they are passed over. ``notice_use``
    gives the records each notice already covered before this transmission."""
    use = notice_use or {}
    checks = []
    for order in orders:
        if (
            order.order_type != "NOTICE_REQUIREMENT"
            or not order.in_force(d.transmitted_at)
            or not order.covers(d.recipient_agency, d.legal_authority, registry)
        ):
            continue
        if order.bulk_threshold is not None and d.record_count < order.bulk_threshold:
            continue
        recipient = registry.agency(d.recipient_agency).id  # a notice for "ICE" serves ICE
        candidates = [
            n
            for n in notices
            if registry.agency(n.recipient_agency).id == recipient
            and n.filed_at <= d.transmitted_at
        ]
        if d.notice_id:
            cited = [n for n in candidates if n.notice_id == d.notice_id]
            candidates = cited or candidates
        judged = [
            (n, notice_problem(d, order, n, registry, use.get(n.notice_id, 0))) for n in candidates
        ]
        satisfying = [n for n, problem in judged if problem is None]
        if satisfying:
            checks.append(NoticeCheck(order, tuple(candidates), satisfying[0], None))
        elif not judged:
            why = f"no notice was filed for {d.recipient_agency} before the transmission"
            checks.append(NoticeCheck(order, (), None, why))
        else:
            latest, why_not = max(judged, key=lambda pair: pair[0].filed_at)
            checks.append(NoticeCheck(order, tuple(candidates), latest, why_not))
    return checks
