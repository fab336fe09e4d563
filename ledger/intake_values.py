"""JSON values to schema values, and schema mismatches described without the value.

Intake's field-level half: timestamps, dates and UUIDs parsed from their JSON spelling and held
to the storable bounds; fastavro's validation errors turned into "<field>: expected <type>",
because its own messages repeat the value, and a bad value may be a taxpayer identifier.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from ledger.errors import EventValidationError
from ledger.schema_registry import SchemaVersion
from ledger.storable import time_problem

_TIMESTAMPS = ("timestamp-micros", "timestamp-millis")
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def parse_timestamp(name: str, value: Any) -> datetime:
    if isinstance(value, datetime):
        ts = value
    elif isinstance(value, str):
        try:
            ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise EventValidationError(
                f"{name} is not an ISO 8601 timestamp (e.g. 2025-08-07T19:12:00Z)."
            ) from exc
    else:
        raise EventValidationError(f"{name}: expected an ISO 8601 timestamp string.")
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise EventValidationError(f"{name} has no UTC offset (add Z or +00:00).")
    try:
        ts = ts.astimezone(UTC)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00+01:00 is before year 1 in UTC
        raise EventValidationError(f"{name} {time_problem(datetime.min)}.") from exc
    problem = time_problem(ts)
    if problem:
        raise EventValidationError(f"{name} {problem}.")
    return ts


def parse_date(name: str, value: Any) -> date:
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    elif isinstance(value, str):
        try:
            day = date.fromisoformat(value)
        except ValueError as exc:
            raise EventValidationError(f"{name} is not an ISO 8601 date (YYYY-MM-DD).") from exc
    else:
        raise EventValidationError(f"{name}: expected an ISO 8601 date string (YYYY-MM-DD).")
    problem = time_problem(day)
    if problem:
        raise EventValidationError(f"{name} {problem}.")
    return day


def parse_uuid(name: str, value: Any) -> str:
    """The canonical text form, which is also what decoding gives back."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if not isinstance(value, str):
        raise EventValidationError(f"{name}: expected a UUID string.")
    if type(value) is str and _CANONICAL_UUID.fullmatch(value):
        return value  # what str(uuid.UUID(value)) gives back, in a tenth of the time
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise EventValidationError(f"{name} is not a UUID.") from exc


def coerce_logical_types(schema: SchemaVersion, record: dict[str, Any]) -> None:
    for name, logical in schema.logical_fields:
        if record.get(name) is None:
            continue
        if logical in _TIMESTAMPS:
            record[name] = parse_timestamp(name, record[name])
        elif logical == "date":
            record[name] = parse_date(name, record[name])
        elif logical == "uuid":
            record[name] = parse_uuid(name, record[name])


def describe_mismatch(schema: SchemaVersion, names: Iterable[str]) -> str:
    """One "<field>: expected <type>" per failing field, never the value (it may be a TIN)."""
    types = {f["name"]: f["type"] for f in schema.parsed["fields"]}
    described: list[str] = []
    for name in names:
        text = (
            f"{name}: expected {expected_type(types[name])}"
            if name in types
            else f"{schema.event_type} does not fit its schema"
        )
        if text not in described:
            described.append(text)
    return (
        "; ".join(described[:3]) + "."
        if described
        else f"{schema.event_type} does not fit its schema."
    )


_PRIMITIVE = {
    "string": "a string",
    "long": "an integer",
    "int": "an integer between -2^31 and 2^31-1",
    "boolean": "true or false",
    "null": "null",
}
_PLURAL = {"string": "strings", "long": "integers", "int": "integers", "boolean": "booleans"}


def expected_type(avro_type: Any) -> str:
    """A person's words for an Avro type, as the JSON line has to spell it."""
    if isinstance(avro_type, list):
        branches = [expected_type(b) for b in avro_type if b != "null"]
        text = " or ".join(branches)
        return f"{text} (or null)" if "null" in avro_type else text
    if isinstance(avro_type, dict):
        logical = avro_type.get("logicalType")
        kind = avro_type.get("type")
        if logical in _TIMESTAMPS:
            return "an ISO 8601 timestamp with a UTC offset"
        if logical == "date":
            return "an ISO 8601 date (YYYY-MM-DD)"
        if logical == "uuid":
            return "a UUID string"
        if kind == "enum":
            return "one of " + ", ".join(avro_type["symbols"])
        if kind == "array":
            return f"a list of {plural_type(avro_type['items'])}"
        if kind == "map":
            return f"an object whose values are {plural_type(avro_type['values'])}"
        return expected_type(kind)
    return _PRIMITIVE.get(avro_type, str(avro_type))


def plural_type(avro_type: Any) -> str:
    if isinstance(avro_type, str) and avro_type in _PLURAL:
        return _PLURAL[avro_type]
    return f"values that are each {expected_type(avro_type)}"


_INT32 = 2**31
_INT64 = 2**63


def _is_int(value: Any, bound: int) -> bool:
    return type(value) is int and -bound <= value < bound


def _check_for(avro_type: Any) -> Callable[[Any], bool]:
    """A predicate for one Avro type, on values already coerced by ``coerce_logical_types``."""
    if isinstance(avro_type, list):
        branches = [_check_for(b) for b in avro_type]
        if len(avro_type) == 2 and "null" in avro_type:  # the usual optional field: one call
            other = branches[1 - avro_type.index("null")]
            return lambda v: v is None or other(v)
        return lambda v: any(check(v) for check in branches)
    if isinstance(avro_type, dict):
        logical = avro_type.get("logicalType")
        kind = avro_type.get("type")
        if logical in _TIMESTAMPS:
            return lambda v: isinstance(v, datetime)
        if logical == "date":
            return lambda v: isinstance(v, date) and not isinstance(v, datetime)
        if kind == "enum":
            symbols = frozenset(avro_type["symbols"])
            return lambda v: isinstance(v, str) and v in symbols
        if kind == "array":
            if avro_type["items"] == "string":  # the common array, checked without a call per item
                return lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v)
            item = _check_for(avro_type["items"])
            return lambda v: isinstance(v, list) and all(item(x) for x in v)
        if kind == "map":
            value = _check_for(avro_type["values"])
            return lambda v: (
                isinstance(v, dict) and all(isinstance(k, str) and value(x) for k, x in v.items())
            )
        return _check_for(kind)
    simple: dict[str, Callable[[Any], bool]] = {
        "null": lambda v: v is None,
        "string": lambda v: isinstance(v, str),
        "long": lambda v: _is_int(v, _INT64),
        "int": lambda v: _is_int(v, _INT32),
        "boolean": lambda v: type(v) is bool,
    }
    if avro_type not in simple:
        raise ValueError(f"no intake check for Avro type {avro_type!r}")
    return simple[avro_type]


_FieldCheck = tuple[str, bool, Callable[[Any], bool]]
# Compiled once per schema version object. Keyed by identity, with the version kept beside its
# checks: two registries (a test's, say) may hold different schemas under one type and number.
_CHECKS: dict[int, tuple[SchemaVersion, tuple[_FieldCheck, ...]]] = {}


def _field_checks(schema: SchemaVersion) -> tuple[_FieldCheck, ...]:
    found = _CHECKS.get(id(schema))
    if found is None or found[0] is not schema:
        checks = tuple(
            (f["name"], "default" in f, _check_for(f["type"])) for f in schema.parsed["fields"]
        )
        found = _CHECKS[id(schema)] = (schema, checks)
    return found[1]


def mismatched_fields(schema: SchemaVersion, record: Mapping[str, Any]) -> list[str]:
    """The fields whose value does not fit the schema (a missing field with a default fits).

    Compiled once per schema from the handful of Avro types the ledger's schemas use; as strict
    as fastavro's writer (stricter: a boolean is not a number), and several times faster than
    ``fastavro.validation``, which formats an error for every union branch it rejects.
    """
    return [
        name
        for name, has_default, check in _field_checks(schema)
        if (name in record or not has_default) and not check(record.get(name))
    ]
