"""The ledger's events as Python types: one frozen dataclass per event type in ``ledger/schemas/``.

Each class mirrors the newest version of its Avro schema (one module per subject: disclosures, requests, court, oversight) field for field: the same names in the
same order, the same types, the same defaults (``tests/unit/test_events.py`` holds them to it, so
a schema change cannot silently leave its class behind). Avro arrays are tuples here and maps are
typed as read-only ``Mapping``s; ``to_record`` gives the codec the plain record (lists and dicts)
it writes, and ``from_record`` turns a record read back, or validated by intake, into the typed
event. A new schema version means changing its class here in the same commit.

Pure: no I/O, no clock and no random ids. Intake (``ledger.intake.build_event``) fills in a
missing ``event_id``, ``occurred_at`` and ``recorded_by`` and checks schema, privacy and storable
bounds before it builds one of these; the ledger's own writers may construct them directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ledger.errors import UnknownSchemaError
from ledger.events.base import AddressVerification, LedgerEvent, MatchMethod, OrderType
from ledger.events.court import (
    CourtOrderAmended,
    CourtOrderRecorded,
    CourtOrderVacated,
    NoticeFiled,
)
from ledger.events.disclosures import DisclosureAmended, DisclosureManifest, DisclosureRecorded
from ledger.events.oversight import (
    AlertAcknowledged,
    AlertRaised,
    AlertResolved,
    LedgerAccessed,
)
from ledger.events.requests import DisclosureRequested

EVENT_CLASSES: Mapping[str, type[LedgerEvent]] = MappingProxyType(
    {
        cls.event_type: cls
        for cls in (
            DisclosureRecorded,
            DisclosureManifest,
            NoticeFiled,
            CourtOrderRecorded,
            CourtOrderAmended,
            CourtOrderVacated,
            DisclosureAmended,
            DisclosureRequested,
            LedgerAccessed,
            AlertRaised,
            AlertAcknowledged,
            AlertResolved,
        )
    }
)


def event_class(event_type: str) -> type[LedgerEvent]:
    """The class of ``event_type``; UnknownSchemaError for a name that is not an event type."""
    try:
        return EVENT_CLASSES[event_type]
    except KeyError:
        known = ", ".join(sorted(EVENT_CLASSES))
        raise UnknownSchemaError(
            f"No event class for type {event_type!r}; known types: {known}."
        ) from None


def from_record(event_type: str, record: Mapping[str, Any]) -> LedgerEvent:
    """The typed event for an Avro record of ``event_type`` (what the codec reads and intake checks)."""
    return event_class(event_type).from_fields(record)


__all__ = [
    "EVENT_CLASSES",
    "AddressVerification",
    "AlertAcknowledged",
    "AlertRaised",
    "AlertResolved",
    "CourtOrderAmended",
    "CourtOrderRecorded",
    "CourtOrderVacated",
    "DisclosureAmended",
    "DisclosureManifest",
    "DisclosureRecorded",
    "DisclosureRequested",
    "LedgerAccessed",
    "LedgerEvent",
    "MatchMethod",
    "NoticeFiled",
    "OrderType",
    "event_class",
    "from_record",
]
