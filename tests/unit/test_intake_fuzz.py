"""Property tests of intake: whatever a sender writes, only an Event or a typed error comes out.

And every Event that comes out encodes, decodes back equal, and holds only storable values.
Derandomized, so CI is stable; LEDGER_FUZZ_EXAMPLES=5000 (say) runs a longer search.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ledger.codec import EventCodec
from ledger.errors import EventValidationError
from ledger.events import EVENT_CLASSES, LedgerEvent
from ledger.intake import EMIT_EVENT_TYPES, build_event, parse_lines
from ledger.schema_registry import default_registry
from ledger.storable import record_problems
from tests.unit.fuzz import fuzz_settings

FUZZ = fuzz_settings(150)

REGISTRY = default_registry()
CODEC = EventCodec(REGISTRY)
TYPES = REGISTRY.event_types
NOW = datetime(2025, 8, 7, 12, tzinfo=UTC)

# Characters that matter here: NUL, lone surrogates, TIN digits and separators, and the rest.
chars = st.one_of(
    st.characters(),
    st.characters(categories=["Cs"]),
    st.sampled_from(["\x00", "-", ".", " ", "0", "1", "9", "１", "\u2028", "Z", ":", "T", "+"]),
)
texts = st.one_of(
    st.text(chars, max_size=20),
    st.sampled_from(
        [
            "123-45-6789",
            "123 45 6789",
            "12-3456789",
            "123456789",
            "2025-08-07",
            "2025-08-07T19:12:00Z",
            "2025-08-07T19:12:00",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
            "1899-12-31T23:59:59Z",
            "2199-12-31T23:59:59.999999Z",
            "2B0F0A56-3B5F-4B0E-8F3C-6F2A5D7E9C01",
            "{2b0f0a56-3b5f-4b0e-8f3c-6f2a5d7e9c01}",
            "ab" * 32,
            "AB" * 32,
            "VALID",
            "NOTICE_REQUIREMENT",
            "TIN_NAME",
            "",
        ]
    ),
)
integers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, -1, 2**31 - 1, 2**31, 2**53, 2**53 + 1, 2**63 - 1, 2**63, -(2**63)]),
)
scalars = st.one_of(
    st.none(), st.booleans(), integers, st.floats(allow_nan=True, allow_infinity=True), texts
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=12,
)

offsets = st.sampled_from(
    [
        UTC,
        timezone(timedelta(hours=-5)),
        timezone(timedelta(hours=14)),
        timezone(-timedelta(hours=23, minutes=59)),
    ]
)
moments = st.datetimes(
    min_value=datetime(1890, 1, 1), max_value=datetime(2210, 1, 1), timezones=offsets
)
days = st.dates(min_value=date(1890, 1, 1), max_value=date(2210, 1, 1))


def typed(avro_type: Any, *, plain: bool = False) -> st.SearchStrategy[Any]:
    """Values of the right JSON shape for an Avro type, with contents anywhere in their range.

    plain: strings of ordinary text, so that most objects are accepted and round-trip.
    """
    if isinstance(avro_type, list):
        return st.one_of(*(typed(branch, plain=plain) for branch in avro_type))
    if isinstance(avro_type, dict):
        logical = avro_type.get("logicalType")
        kind = avro_type.get("type")
        if logical in ("timestamp-micros", "timestamp-millis"):
            return moments.map(datetime.isoformat)
        if logical == "date":
            return days.map(date.isoformat)
        if logical == "uuid":
            return st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper())
        if kind == "enum":
            return st.sampled_from(avro_type["symbols"])
        if kind == "array":
            return st.lists(typed(avro_type["items"], plain=plain), max_size=4)
        if kind == "map":
            keys = st.text(max_size=10) if plain else texts
            return st.dictionaries(keys, typed(avro_type["values"], plain=plain), max_size=4)
        return typed(kind, plain=plain)
    if plain and avro_type in ("long", "int"):
        return st.integers(min_value=0, max_value=2**31 - 1)
    return {
        "null": st.none(),
        "string": st.text(max_size=30) if plain else texts | st.text(max_size=30),
        "long": integers,
        "int": integers,
        "boolean": st.booleans(),
    }[avro_type]


def event_objects(field_values: Any, *, complete: bool) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object with a valid "type" and values for some (or, complete, all required) fields."""

    def for_type(event_type: str) -> st.SearchStrategy[dict[str, Any]]:
        fields = REGISTRY.latest(event_type).parsed["fields"]
        generated = {f["name"]: field_values(f["type"]) for f in fields}
        required = {
            name: value
            for name, value in generated.items()
            if complete and name not in AUTOMATIC and "default" not in fields_by_name(fields)[name]
        }
        optional = {name: value for name, value in generated.items() if name not in required}
        return st.fixed_dictionaries({"type": st.just(event_type), **required}, optional=optional)

    return st.sampled_from(TYPES).flatmap(for_type)


def fields_by_name(fields: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in fields}


AUTOMATIC = {"event_id", "occurred_at", "recorded_by"}  # build_event fills these in
mostly_typed = event_objects(lambda t: typed(t) | json_values, complete=False)
all_typed = event_objects(lambda t: typed(t) | typed(t, plain=True), complete=True)


def assert_round_trips(event: LedgerEvent) -> None:
    assert type(event) is EVENT_CLASSES[event.event_type]
    decoded = CODEC.decode(CODEC.encode(event))
    assert decoded.event_type == event.event_type
    # Fields the line left out hold their schema defaults on both sides.
    assert decoded.event == event
    assert record_problems(decoded.event.to_record()) == []


def build_or_refuse(obj: Any) -> None:
    try:
        event = build_event(obj, REGISTRY, now=NOW)
    except EventValidationError:
        return
    assert_round_trips(event)


@FUZZ
@given(json_values)
def test_any_json_value_builds_an_event_or_is_refused(value: Any) -> None:
    build_or_refuse(value)


@FUZZ
@given(mostly_typed)
def test_objects_with_a_valid_type_and_any_field_values(obj: dict[str, Any]) -> None:
    build_or_refuse(obj)


@FUZZ
@given(all_typed)
def test_objects_of_the_right_shapes_round_trip_when_accepted(obj: dict[str, Any]) -> None:
    build_or_refuse(obj)


@FUZZ
@given(st.lists(mostly_typed.map(json.dumps) | st.text(chars, max_size=40), max_size=4))
def test_any_lines_parse_to_events_or_one_batch_error(lines: list[str]) -> None:
    for allowed in (EMIT_EVENT_TYPES, None):
        try:
            events = parse_lines(lines, REGISTRY, allowed_types=allowed)
        except EventValidationError:
            continue
        for event in events:
            assert allowed is None or event.event_type in allowed
            assert_round_trips(event)
