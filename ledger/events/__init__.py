"""The ledger's events as Python types: one frozen dataclass per event type in ``schemas/``.

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
from typing import Any

from ledger.config import COURT_TOPIC, DISCLOSURES_TOPIC
from ledger.errors import UnknownSchemaError
from ledger.events.base import (
    AddressVerification,
    LedgerEvent,
    MatchMethod,
    OrderType,
    event_types,
    registered_events,
)
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

# Every event module is imported above; each class registered itself (ledger.events.base).
EVENT_CLASSES: Mapping[str, type[LedgerEvent]] = registered_events()
# What agencies and courts record, and so all that `ledger emit` accepts; the rest the ledger
# writes itself. Court events are accepted only from the court topic.
EMIT_EVENT_TYPES = event_types("agency", "court")
LEDGER_EVENT_TYPES = event_types("ledger")
COURT_EVENT_TYPES = event_types("court")


def topic_for_event(topic: str, event_type: str) -> str:
    """Where an event sent "to the disclosures topic" goes: court events to the court topic of
    the same prefix, everything else where it was sent."""
    if event_type in COURT_EVENT_TYPES and topic.endswith(DISCLOSURES_TOPIC):
        return topic[: -len(DISCLOSURES_TOPIC)] + COURT_TOPIC
    return topic


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
    "COURT_EVENT_TYPES",
    "EMIT_EVENT_TYPES",
    "EVENT_CLASSES",
    "LEDGER_EVENT_TYPES",
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
    "topic_for_event",
]
