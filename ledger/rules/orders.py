"""Court orders under their latest terms: a recorded order with its amendments and vacatur applied.

An amendment replaces the terms it names for the order's whole life (the rules judge every
transmission under the order as it now reads). A vacatur ends the order at ``vacated_at``; one
``ab_initio`` voids it from the start, so it never bound anyone and its alerts are resolved.
Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

from ledger.events import CourtOrderAmended, CourtOrderVacated
from ledger.rules.model import CourtOrderFacts, DisclosureFacts
from ledger.rules.registry import Registry
from ledger.rules.requests import RequestFacts

OrderChange = CourtOrderAmended | CourtOrderVacated


def changed(order: CourtOrderFacts, change: OrderChange) -> CourtOrderFacts | None:
    """``order`` after ``change``; None when it is void from the start."""
    if isinstance(change, CourtOrderVacated):
        if change.ab_initio:
            return None
        end = change.vacated_at
        if order.expires_at is not None and order.expires_at < end:
            end = order.expires_at
        return dataclasses.replace(order, expires_at=end)
    c = change
    return dataclasses.replace(
        order,
        effective_at=c.effective_at or order.effective_at,
        expires_at=c.expires_at or order.expires_at,
        recipients=order.recipients if c.recipients is None else c.recipients,
        authorities=order.authorities if c.authorities is None else c.authorities,
        bulk_threshold=order.bulk_threshold if c.bulk_threshold is None else c.bulk_threshold,
        notice_hours=order.notice_hours if c.notice_hours is None else c.notice_hours,
    )


def current_orders(
    orders: Iterable[CourtOrderFacts], changes: Sequence[OrderChange]
) -> list[CourtOrderFacts]:
    """Each order with its changes applied in the order they were recorded; void ones left out."""
    result = []
    for order in orders:
        current: CourtOrderFacts | None = order
        for change in changes:
            if current is not None and change.order_id == order.order_id:
                current = changed(current, change)
        if current is not None:
            result.append(current)
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
