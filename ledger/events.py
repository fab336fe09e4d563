"""The ledger's events as Python types: one frozen dataclass per event type in ``ledger/schemas/``.

Each class mirrors the newest version of its Avro schema field for field: the same names in the
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

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, ClassVar, Literal, Self, get_args, get_type_hints

from ledger.errors import EventValidationError, UnknownSchemaError

MatchMethod = Literal["TIN_NAME", "NAME_ADDRESS", "NAME_DOB_ADDRESS", "FUZZY", "MANUAL_REVIEW"]
AddressVerification = Literal["VALID", "PLACEHOLDER", "ZIP_ONLY", "MISSING", "NOT_COMPARED"]
OrderType = Literal["NOTICE_REQUIREMENT", "STAY", "INJUNCTION", "USE_PROHIBITION"]


@dataclass(frozen=True, kw_only=True)
class LedgerEvent:
    """What every event carries. ``event_type`` names its schema (``ledger/schemas/<type>/``)."""

    event_type: ClassVar[str]

    event_id: str  # a UUID, in canonical lower-case text form
    occurred_at: datetime  # timezone-aware (UTC once read back)
    recorded_by: str  # the system or person that emitted it

    @property
    def key(self) -> str:
        """The Kafka message key: the recipient agency where the event has one (DESIGN 2), so a
        recipient's events stay in order on one partition; empty where there is nothing to key by."""
        return ""

    def to_record(self) -> dict[str, Any]:
        """The Avro record the codec writes: field name to value, arrays as lists, maps as dicts."""
        values = self.__dict__
        return {name: _plain(values[name]) for name in _shape(type(self)).names}

    @classmethod
    def from_fields(cls, record: Mapping[str, Any]) -> Self:
        """This event from a record of its fields (lists become tuples); omitted fields that have
        a schema default take it. Raises EventValidationError for unknown or missing fields."""
        shape = _shape(cls)
        if not shape.name_set.issuperset(record):
            unknown = sorted(set(record) - shape.name_set)
            raise EventValidationError(f"{cls.event_type} has no field(s) {', '.join(unknown)}.")
        if len(record) < len(shape.names):
            missing = [n for n in shape.required if n not in record]
            if missing:
                raise EventValidationError(f"{cls.event_type} is missing {', '.join(missing)}.")
        return cls(**{name: _frozen(value) for name, value in record.items()})

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Self:
        """This event from its JSON rendering (as stored in the projections' ``record`` and
        ``body`` columns): ISO 8601 text becomes datetimes and dates again, by field type.

        Like Avro's schema resolution, a field the class no longer has is left out, and one it
        gained since takes its default.
        """
        shape = _shape(cls)
        revived = {
            name: (
                shape.times[name].fromisoformat(value)
                if name in shape.times and isinstance(value, str)
                else value
            )
            for name, value in obj.items()
            if name in shape.names
        }
        return cls.from_fields(revived)


@dataclass(frozen=True, kw_only=True)
class DisclosureRecorded(LedgerEvent):
    """One transmission of taxpayer data from a source agency to a recipient."""

    event_type: ClassVar[str] = "DisclosureRecorded"

    disclosure_id: str
    request_id: str | None = None
    source_agency: str
    recipient_agency: str
    recipient_address: str | None = None
    legal_authority: str  # e.g. 26 U.S.C. 6103(i)(2)
    purpose: str
    nature: str  # e.g. LAST_KNOWN_ADDRESS, TRANSCRIPT
    transmitted_at: datetime
    transmission_channel: str | None = None
    record_count: int  # taxpayer records: the unit of volume
    tax_periods: tuple[str, ...]
    data_categories: tuple[str, ...]
    match_method: MatchMethod | None = None
    address_verification: AddressVerification | None = None
    manifest_sha256: str | None = None  # hex SHA-256 of the transmitted file
    taxpayer_refs: tuple[str, ...] = ()  # HMAC-SHA256 keyed hashes, never a raw TIN
    notice_id: str | None = None

    @property
    def key(self) -> str:
        return self.recipient_agency or self.source_agency


@dataclass(frozen=True, kw_only=True)
class DisclosureManifest(LedgerEvent):
    """One chunk of a bulk disclosure's taxpayer refs."""

    event_type: ClassVar[str] = "DisclosureManifest"

    disclosure_id: str
    recipient_agency: str  # keys the chunk to its disclosure's partition
    chunk_index: int
    chunk_count: int
    taxpayer_refs: tuple[str, ...]

    @property
    def key(self) -> str:
        return self.recipient_agency


@dataclass(frozen=True, kw_only=True)
class NoticeFiled(LedgerEvent):
    """Advance notice of a planned transmission, filed with the court and served on plaintiffs."""

    event_type: ClassVar[str] = "NoticeFiled"

    notice_id: str
    case_reference: str
    filed_at: datetime
    served_on: tuple[str, ...]
    recipient_agency: str
    legal_authority: str
    planned_transmission_start: datetime
    planned_transmission_end: datetime
    expected_record_count: int

    @property
    def key(self) -> str:
        return self.recipient_agency


@dataclass(frozen=True, kw_only=True)
class CourtOrderRecorded(LedgerEvent):
    """A court order that constrains disclosures; empty recipients/authorities mean every one."""

    event_type: ClassVar[str] = "CourtOrderRecorded"

    order_id: str
    case_reference: str
    court: str
    order_type: OrderType
    entered_at: datetime
    effective_at: datetime
    expires_at: datetime | None = None
    recipients: tuple[str, ...] = ()
    authorities: tuple[str, ...] = ()
    bulk_threshold: int | None = None  # NOTICE_REQUIREMENT: records at or above need notice
    notice_hours: int | None = None  # NOTICE_REQUIREMENT: hours of notice (24 when None)
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class DisclosureAmended(LedgerEvent):
    """Corrects an earlier disclosure by reference; the original is never overwritten."""

    event_type: ClassVar[str] = "DisclosureAmended"

    disclosure_id: str
    amends_event_id: str | None = None
    recipient_agency: str
    changes: Mapping[str, str]  # field name to corrected value, as text
    reason: str

    @property
    def key(self) -> str:
        return self.recipient_agency


@dataclass(frozen=True, kw_only=True)
class LedgerAccessed(LedgerEvent):
    """Someone queried the ledger (oversight of the overseers). Never carries a TIN."""

    event_type: ClassVar[str] = "LedgerAccessed"

    accessor: str
    role: str
    action: str
    query: Mapping[str, str] = field(default_factory=dict)
    records_returned: int
    status: int = 200


@dataclass(frozen=True, kw_only=True)
class AlertRaised(LedgerEvent):
    """A rule fired; ``alert_id`` is deterministic (rule + scope + day)."""

    event_type: ClassVar[str] = "AlertRaised"

    alert_id: str
    rule: str
    severity: str
    scope: str  # the rendered scope (ledger.rules.model.Scope), as stored in alerts.scope
    day: date
    observed: int
    threshold: int | None = None
    evidence: tuple[str, ...]  # event ids (and topic/partition@offset) that caused the alert
    legal_source: str
    message: str

    @property
    def key(self) -> str:
        return self.scope


@dataclass(frozen=True, kw_only=True)
class AlertAcknowledged(LedgerEvent):
    """A person on watch acknowledged an alert; acknowledgements are events, never edits."""

    event_type: ClassVar[str] = "AlertAcknowledged"

    alert_id: str
    acknowledged_by: str
    note: str = ""


EVENT_CLASSES: Mapping[str, type[LedgerEvent]] = MappingProxyType(
    {
        cls.event_type: cls
        for cls in (
            DisclosureRecorded,
            DisclosureManifest,
            NoticeFiled,
            CourtOrderRecorded,
            DisclosureAmended,
            LedgerAccessed,
            AlertRaised,
            AlertAcknowledged,
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


@dataclass(frozen=True)
class _Shape:
    """What the conversions need to know about one event class, worked out once."""

    names: tuple[str, ...]  # every field, in schema order
    name_set: frozenset[str]
    required: tuple[str, ...]  # fields without a default
    times: Mapping[str, type[date]]  # fields holding a datetime or a date (maybe None)


_SHAPES: dict[type[LedgerEvent], _Shape] = {}


def _shape(cls: type[LedgerEvent]) -> _Shape:
    shape = _SHAPES.get(cls)
    if shape is None:
        fields = dataclasses.fields(cls)
        times: dict[str, type[date]] = {}
        for name, hint in get_type_hints(cls).items():
            for candidate in (hint, *get_args(hint)):
                if candidate is datetime or candidate is date:
                    times[name] = candidate
                    break
        shape = _SHAPES[cls] = _Shape(
            names=tuple(f.name for f in fields),
            name_set=frozenset(f.name for f in fields),
            required=tuple(
                f.name
                for f in fields
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            ),
            times=times,
        )
    return shape


def _plain(value: Any) -> Any:
    kind = type(value)  # exact types first: this runs for every field of every event encoded
    if kind is str or kind is int or value is None or kind is datetime:
        return value
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value


def _frozen(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or value is None or kind is datetime:
        return value
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value
