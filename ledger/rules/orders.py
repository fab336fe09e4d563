"""Court orders over time: a recorded order with its amendments and vacatur applied as they stood.

An amendment applies from its ``amended_at`` (or from the ``effective_at`` it sets, when the
court made it apply earlier): before that the order binds under its earlier terms, so a raised
threshold or a longer notice period does not rewrite what transmissions before it were. A
vacatur ends the order at ``vacated_at``; one ``ab_initio`` ends it there too, because what was
done while the order stood was done in breach of it (collateral bar): the violations stay. Each
order is a list of terms, each with its own effective span. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from ledger.events import CourtOrderAmended, CourtOrderVacated
from ledger.rules.model import CourtOrderFacts, DisclosureFacts
from ledger.rules.registry import Registry
from ledger.rules.requests import RequestFacts

OrderChange = CourtOrderAmended | CourtOrderVacated
COLLATERAL_BAR = (
    "vacated ab initio, but what was done while the order stood is judged under it (collateral bar)"
)


def _ends_by(order: CourtOrderFacts, end: datetime) -> CourtOrderFacts | None:
    """``order`` ending at ``end`` at the latest; None when it then never was in force."""
    if order.expires_at is not None and order.expires_at <= end:
        return order
    if end <= order.effective_at:
        return None
    return dataclasses.replace(order, expires_at=end)


def changed(terms: Sequence[CourtOrderFacts], change: OrderChange) -> list[CourtOrderFacts]:
    """The order's terms over time after ``change`` (each term its own span)."""
    if isinstance(change, CourtOrderVacated):
        return [t for t in (_ends_by(o, change.vacated_at) for o in terms) if t is not None]
    if not terms:
        return []
    c = change
    start = c.effective_at if c.effective_at is not None else c.amended_at
    latest = terms[-1]
    new = dataclasses.replace(
        latest,
        effective_at=max(start, terms[0].effective_at) if c.effective_at is None else start,
        expires_at=c.expires_at or latest.expires_at,
        recipients=latest.recipients if c.recipients is None else c.recipients,
        authorities=latest.authorities if c.authorities is None else c.authorities,
        bulk_threshold=latest.bulk_threshold if c.bulk_threshold is None else c.bulk_threshold,
        notice_hours=latest.notice_hours if c.notice_hours is None else c.notice_hours,
    )
    before = [t for t in (_ends_by(o, new.effective_at) for o in terms) if t is not None]
    return [*before, new]


def current_orders(
    orders: Iterable[CourtOrderFacts], changes: Sequence[OrderChange]
) -> list[CourtOrderFacts]:
    """Each order's terms over time, its changes applied in the order they were recorded."""
    result = []
    for order in orders:
        terms = [order]
        for change in changes:
            if change.order_id == order.order_id:
                terms = changed(terms, change)
        result.extend(terms)
    return result


def routed_to(d: DisclosureFacts, requests: Mapping[str, RequestFacts]) -> list[str]:
    """Every agency a transmission is for: its recipient, and the agency that asked for it (and
    the recipient the request names) when it cites a request the ledger holds. Data sent to DHS
    headquarters on an ICE request is for ICE too."""
    names = [d.recipient_agency]
    request = requests.get(d.request_id) if d.request_id else None
    if request is not None:
        names.append(request.requesting_agency)
        if request.recipient_agency:
            names.append(request.recipient_agency)
    return names


def reaches(
    order: CourtOrderFacts,
    d: DisclosureFacts,
    registry: Registry,
    requests: Mapping[str, RequestFacts] | None = None,
) -> bool:
    """Whether ``order`` covers transmission ``d``: its authority, and any agency it is for
    (``routed_to``), by canonical id, ancestry and parent routing (``CourtOrderFacts.covers``)."""
    return any(
        order.covers(name, d.legal_authority, registry) for name in routed_to(d, requests or {})
    )
