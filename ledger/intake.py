"""Turns JSON lines into validated ledger events; nothing is sent until every line passes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import fastavro.validation
from fastavro._validate_common import ValidationError as AvroValidationError

from ledger.errors import EventValidationError, UnknownSchemaError
from ledger.privacy import contains_tin_shape, is_taxpayer_ref, is_tin_shaped
from ledger.schemas import SchemaRegistry, SchemaVersion, default_registry

# Strings that are identifiers or digests by construction, never free text.
_NOT_FREE_TEXT = {"event_id", "amends_event_id", "manifest_sha256", "taxpayer_refs", "evidence"}
# Agency-assigned identifiers may contain long digit runs; only one that *is* a TIN is refused.
_IDENTIFIERS = {"disclosure_id", "request_id", "notice_id", "order_id", "alert_id"}
_DEFAULT_RECORDED_BY = "ledger emit"


@dataclass(frozen=True)
class Event:
    """A validated event ready to encode: its type, its record, and the Kafka key."""

    event_type: str
    record: dict[str, Any]

    @property
    def key(self) -> str:
        r = self.record
        return str(r.get("recipient_agency") or r.get("source_agency") or r.get("scope") or "")

    @property
    def event_id(self) -> str:
        return str(self.record["event_id"])


@dataclass(frozen=True)
class LineError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class BatchValidationError(EventValidationError):
    """One or more input lines are invalid; nothing was sent."""

    def __init__(self, errors: list[LineError]) -> None:
        self.errors = errors
        shown = "\n".join(str(e) for e in errors[:20])
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} invalid line(s); nothing was sent.\n{shown}{more}")


def _logical(field_type: Any) -> str | None:
    if isinstance(field_type, dict):
        return field_type.get("logicalType")
    if isinstance(field_type, list):
        for branch in field_type:
            found = _logical(branch)
            if found:
                return found
    return None


def _parse_timestamp(name: str, value: Any) -> datetime:
    if isinstance(value, datetime):
        ts = value
    elif isinstance(value, str):
        try:
            ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise EventValidationError(f"{name}: {value!r} is not an ISO 8601 timestamp.") from exc
    else:
        raise EventValidationError(f"{name}: expected an ISO 8601 timestamp string.")
    if ts.tzinfo is None:
        raise EventValidationError(f"{name}: {value!r} has no UTC offset (add Z or +00:00).")
    return ts.astimezone(UTC)


def _parse_date(name: str, value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise EventValidationError(f"{name}: {value!r} is not an ISO 8601 date.") from exc


def _check_privacy(record: Mapping[str, Any]) -> None:
    for name, value in record.items():
        if name == "taxpayer_refs":
            for ref in value or []:
                if not isinstance(ref, str) or not is_taxpayer_ref(ref):
                    raise EventValidationError(
                        "taxpayer_refs must hold 64-hex-digit keyed hashes (HMAC-SHA256), "
                        "never a raw identifier."
                    )
            continue
        if name in _NOT_FREE_TEXT:
            continue
        if name in _IDENTIFIERS:
            if isinstance(value, str) and is_tin_shaped(value.strip()):
                raise EventValidationError(
                    f"{name} is shaped like an SSN, ITIN or EIN; identifiers must not be taxpayer numbers."
                )
            continue
        texts = value if isinstance(value, list) else [value]
        if isinstance(value, dict):
            texts = [*value.keys(), *value.values()]
        for text in texts:
            if isinstance(text, str) and contains_tin_shape(text):
                raise EventValidationError(
                    f"{name} contains something shaped like an SSN, ITIN or EIN; the ledger "
                    "never stores taxpayer identifiers (use taxpayer_refs for keyed hashes)."
                )


def build_event(
    obj: Mapping[str, Any], registry: SchemaRegistry | None = None, *, now: datetime | None = None
) -> Event:
    """Validates one JSON object (``type`` plus schema fields) and returns the typed event."""
    registry = registry or default_registry()
    if not isinstance(obj, Mapping):
        raise EventValidationError("each line must be a JSON object.")
    event_type = obj.get("type")
    if not isinstance(event_type, str):
        raise EventValidationError('missing "type" naming the event, e.g. "DisclosureRecorded".')
    try:
        schema = registry.latest(event_type)
    except UnknownSchemaError as exc:
        raise EventValidationError(str(exc)) from exc
    record = {k: v for k, v in obj.items() if k != "type"}
    unknown = sorted(set(record) - set(schema.field_names))
    if unknown:
        raise EventValidationError(f"{event_type} has no field(s) {', '.join(unknown)}.")
    record.setdefault("event_id", str(uuid.uuid4()))
    record.setdefault("occurred_at", now or datetime.now(UTC))
    record.setdefault("recorded_by", _DEFAULT_RECORDED_BY)
    try:
        uuid.UUID(str(record["event_id"]))
    except ValueError as exc:
        raise EventValidationError(f"event_id {record['event_id']!r} is not a UUID.") from exc
    _coerce_logical_types(schema, record)
    _check_privacy(record)
    _validate(schema, record)
    return Event(event_type, record)


def _coerce_logical_types(schema: SchemaVersion, record: dict[str, Any]) -> None:
    for field in schema.parsed["fields"]:
        name = field["name"]
        if name not in record or record[name] is None:
            continue
        logical = _logical(field["type"])
        if logical in ("timestamp-micros", "timestamp-millis"):
            record[name] = _parse_timestamp(name, record[name])
        elif logical == "date":
            record[name] = _parse_date(name, record[name])


def _validate(schema: SchemaVersion, record: dict[str, Any]) -> None:
    missing = [
        f["name"] for f in schema.parsed["fields"] if f["name"] not in record and "default" not in f
    ]
    if missing:
        raise EventValidationError(f"{schema.event_type} is missing {', '.join(missing)}.")
    try:
        fastavro.validation.validate(record, schema.parsed, raise_errors=True)
    except AvroValidationError as exc:
        problems = "; ".join(_describe(e) for e in exc.errors[:3])
        raise EventValidationError(f"{schema.event_type}: {problems}") from exc
    if record.get("record_count", 0) < 0:
        raise EventValidationError("record_count cannot be negative.")


def _describe(error: Any) -> str:
    text = str(error)
    # fastavro reports "<path> is <value> of type <type> expected <schema>"; keep it to one line.
    return text.replace("\n", " ")[:200]


def parse_lines(lines: Iterable[str], registry: SchemaRegistry | None = None) -> list[Event]:
    """Validates every line first; raises BatchValidationError listing each bad line by number."""
    registry = registry or default_registry()
    events: list[Event] = []
    errors: list[LineError] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(LineError(number, f"not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        try:
            events.append(build_event(obj, registry))
        except EventValidationError as exc:
            errors.append(LineError(number, str(exc)))
    if errors:
        raise BatchValidationError(errors)
    return events
