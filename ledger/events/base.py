"""What every event is: the LedgerEvent base and its record conversions, worked out once per class."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, ClassVar, Literal, Self, get_args, get_origin, get_type_hints

from ledger.errors import EventValidationError

MatchMethod = Literal["TIN_NAME", "NAME_ADDRESS", "NAME_DOB_ADDRESS", "FUZZY", "MANUAL_REVIEW"]
AddressVerification = Literal["VALID", "PLACEHOLDER", "ZIP_ONLY", "MISSING", "NOT_COMPARED"]
OrderType = Literal["NOTICE_REQUIREMENT", "STAY", "INJUNCTION", "USE_PROHIBITION"]
# Who writes an event type: an agency (on the disclosures topic), the court's clerk (on the court
# topic) or the ledger itself (access records, alerts, acknowledgements); never through `emit`.
Writer = Literal["agency", "court", "ledger"]
_REGISTERED: dict[str, type[LedgerEvent]] = {}  # by event type, in definition order


def registered_events() -> Mapping[str, type[LedgerEvent]]:
    """Every event class defined, by type (``ledger.events`` imports every event module)."""
    return MappingProxyType(_REGISTERED)


def event_types(*writers: Writer) -> frozenset[str]:
    """The event types these writers write."""
    return frozenset(t for t, cls in _REGISTERED.items() if cls.writer in writers)


@dataclass(frozen=True, kw_only=True)
class LedgerEvent:
    """What every event carries. ``event_type``, the class's name, names its schema
    (``schemas/<type>/``)."""

    event_type: ClassVar[str]
    writer: ClassVar[Writer]  # who may write it: an agency, the court, or the ledger itself

    event_id: str  # a UUID, in canonical lower-case text form
    occurred_at: datetime  # timezone-aware (UTC once read back)
    recorded_by: str  # the system or person that emitted it

    def __init_subclass__(cls, *, writer: Writer, **kwargs: Any) -> None:
        """``class NoticeFiled(LedgerEvent, writer="court")``: the type registers itself under
        its class name, with who writes it (intake's and the topics' type lists come from it)."""
        super().__init_subclass__(**kwargs)
        if cls.__name__ in _REGISTERED:
            raise TypeError(f"event type {cls.__name__} is defined twice")
        cls.event_type = cls.__name__
        cls.writer = writer
        _REGISTERED[cls.__name__] = cls

    @property
    def key(self) -> str:
        """The Kafka message key: the recipient agency where the event has one, so a recipient's
        events stay in order on one partition (docs/design.md, 'Events and their encoding');
        empty where there is nothing to key by."""
        recipient = getattr(self, "recipient_agency", None)
        return recipient if isinstance(recipient, str) else ""

    def problems(self) -> list[str]:
        """What intake refuses beyond the schema: fields that contradict each other. Each names
        the field, never its value."""
        return []

    def to_record(self) -> dict[str, Any]:
        """The Avro record the codec writes: field name to value, arrays as lists, maps as dicts."""
        shape, values = _shape(type(self)), self.__dict__
        record = {name: values[name] for name in shape.names}
        for name in shape.containers:
            record[name] = _recast(record[name], list)
        return record

    @classmethod
    def from_fields(cls, record: Mapping[str, Any]) -> Self:
        """This event from a record of its fields (lists become tuples); omitted fields that have
        a schema default take it. Raises EventValidationError for unknown or missing fields."""
        shape = _shape(cls)
        if not shape.name_set.issuperset(record):
            unknown = sorted(set(record) - shape.name_set)
            raise EventValidationError(f"{cls.event_type} has no field(s) {', '.join(unknown)}.")
        values = dict(record)
        for name in shape.containers:
            if name in values:
                values[name] = _recast(values[name], tuple)
        if len(record) < len(shape.names):
            missing = [n for n in shape.required if n not in record]
            if missing:
                raise EventValidationError(f"{cls.event_type} is missing {', '.join(missing)}.")
            return cls(**values)
        # Every field given (what the codec reads): fill the instance directly. A frozen
        # dataclass's __init__ sets each field through object.__setattr__, which costs more than
        # the Avro decoding of the record; it does nothing else, so the result is the same.
        event = object.__new__(cls)
        event.__dict__.update(values)
        return event

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


@dataclass(frozen=True)
class _Shape:
    """What the conversions need to know about one event class, worked out once."""

    names: tuple[str, ...]  # every field, in schema order
    name_set: frozenset[str]
    required: tuple[str, ...]  # fields without a default
    times: Mapping[str, type[date]]  # fields holding a datetime or a date (maybe None)
    containers: tuple[str, ...]  # fields holding a tuple or a mapping (lists become tuples)


_SHAPES: dict[type[LedgerEvent], _Shape] = {}


def _shape(cls: type[LedgerEvent]) -> _Shape:
    shape = _SHAPES.get(cls)
    if shape is None:
        fields = dataclasses.fields(cls)
        times: dict[str, type[date]] = {}
        containers = []
        for name, hint in get_type_hints(cls).items():
            for candidate in (hint, *get_args(hint)):
                if candidate is datetime or candidate is date:
                    times[name] = candidate
                    break
            if any(get_origin(c) in (tuple, Mapping) for c in (hint, *get_args(hint))):
                containers.append(name)
        shape = _SHAPES[cls] = _Shape(
            names=tuple(f.name for f in fields),
            name_set=frozenset(f.name for f in fields),
            required=tuple(
                f.name
                for f in fields
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            ),
            times=times,
            containers=tuple(containers),
        )
    return shape


def _recast(value: Any, sequence: type[list[Any]] | type[tuple[Any, ...]]) -> Any:
    """A container field's value with its array as ``sequence`` (lists in records, tuples in
    events) and its map as a plain dict; None (an optional field left out) as it is."""
    kind = type(value)  # exact types first: this runs for each container of every event
    if kind is list or kind is tuple:
        return sequence(value)
    if kind is dict:
        return dict(value)
    if isinstance(value, (list, tuple)):  # subclasses: the same, the slower way
        return sequence(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value
