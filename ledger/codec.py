"""Avro single-object encoding of ledger events: C3 01, 8-byte CRC-64-AVRO fingerprint, body.

Encodes a typed event (``ledger.events``) with the newest schema of its type and decodes any
published version back into the typed event of the newest.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import fastavro
import fastavro.schema

from ledger.errors import CodecError, EventValidationError, UnstorableEventError
from ledger.events import LedgerEvent, from_record
from ledger.schema_registry import SchemaRegistry, SchemaVersion, default_registry
from ledger.storable import record_problems

MAGIC = b"\xc3\x01"
HEADER_LEN = 10


@dataclass(frozen=True)
class DecodedEvent:
    """An event read back from bytes: the typed event and the schema version it was written with."""

    event: LedgerEvent
    writer_version: int

    @property
    def event_type(self) -> str:
        return self.event.event_type


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_NAIVE = datetime(1970, 1, 1)
_EPOCH_DAY = date(1970, 1, 1)
_MICRO = timedelta(microseconds=1)
_CANONICAL_UUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII
).fullmatch


def _strip_logical(avro_type: Any) -> Any:
    if isinstance(avro_type, list):
        return [_strip_logical(t) for t in avro_type]
    if isinstance(avro_type, dict):
        if "logicalType" in avro_type:
            return avro_type["type"]
        return {
            k: _strip_logical(v) if k in ("items", "values") else v for k, v in avro_type.items()
        }
    return avro_type


def _logical_of(avro_type: Any) -> str | None:
    if isinstance(avro_type, list):
        return next((found for t in avro_type if (found := _logical_of(t))), None)
    if isinstance(avro_type, dict):
        return avro_type.get("logicalType")
    return None


@dataclass(frozen=True)
class _Plain:
    """A schema version with its logical types taken off, and the fields that had them.

    fastavro's own logical-type conversion costs about twice the whole binary read (measured in
    bench.stages), so the codec reads and writes the underlying long/int/string and converts
    those few top-level fields itself, exactly as fastavro would (the golden vectors in
    tests/assets/event_vectors.json hold the bytes to it).
    """

    parsed: Any
    logical: tuple[tuple[str, str], ...]


_PLAIN: dict[tuple[str, int], _Plain] = {}


def _plain_schema(version: SchemaVersion) -> _Plain:
    key = (version.event_type, version.version)
    if key not in _PLAIN:
        raw = json.loads(version.path.read_text(encoding="utf-8"))
        fields = [{**f, "type": _strip_logical(f["type"])} for f in raw["fields"]]
        logical = tuple(
            (f["name"], kind) for f in raw["fields"] if (kind := _logical_of(f["type"]))
        )
        # Parsed with fastavro's "already parsed" marker: without it every call parses again.
        parsed = fastavro.schema.parse_schema({**raw, "fields": fields})
        _PLAIN[key] = _Plain(parsed, logical)
    return _PLAIN[key]


def _from_logical(record: dict[str, Any], logical: tuple[tuple[str, str], ...]) -> None:
    for name, kind in logical:
        value = record.get(name)
        if value is None:
            continue
        if kind == "timestamp-micros":
            record[name] = _EPOCH + timedelta(microseconds=value)
        elif kind == "timestamp-millis":
            record[name] = _EPOCH + timedelta(milliseconds=value)
        elif kind == "date":
            record[name] = _EPOCH_DAY + timedelta(days=value)
        # Canonical text, and a check that it is one; text already canonical (what every
        # producer of ours writes) is kept as it is, which spares building a UUID per event.
        elif kind == "uuid" and not _CANONICAL_UUID(value):
            record[name] = str(uuid.UUID(value))


def _to_logical(record: dict[str, Any], logical: tuple[tuple[str, str], ...]) -> None:
    for name, kind in logical:
        value = record.get(name)
        if isinstance(value, datetime):
            since = value - (_EPOCH if value.tzinfo is not None else _EPOCH_NAIVE)
            micros = since // _MICRO
            record[name] = micros if kind == "timestamp-micros" else micros // 1000
        elif isinstance(value, date):
            record[name] = (value - _EPOCH_DAY).days
        elif isinstance(value, uuid.UUID):
            record[name] = str(value)


class EventCodec:
    """Encodes with the newest schema of a type; decodes any published version to the newest."""

    def __init__(self, registry: SchemaRegistry | None = None) -> None:
        self.registry = registry or default_registry()

    def encode(self, event: LedgerEvent) -> bytes:
        """The message bytes of ``event``, written with the newest schema of its type.

        Nothing beyond the schema is checked here (intake checks privacy and storable bounds),
        so tests and tooling can write the hostile records consumers must withstand.
        """
        schema = self.registry.latest(event.event_type)
        plain = _plain_schema(schema)
        buf = io.BytesIO()
        buf.write(MAGIC)
        buf.write(schema.fingerprint)
        try:
            record = event.to_record()
            _to_logical(record, plain.logical)
            fastavro.schemaless_writer(buf, plain.parsed, record, strict_allow_default=True)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            raise EventValidationError(
                f"{event.event_type} does not fit its schema: {exc}"
            ) from exc
        return buf.getvalue()

    def decode(self, data: bytes | None) -> DecodedEvent:
        """Reads any published version; raises CodecError for anything else, whatever the bytes.

        A record that decodes but holds a value the projections cannot store (NUL, a count or
        time out of range: ``ledger.storable``) is refused here too, so every consumer and a
        replay agree on what is dead-lettered.
        """
        if not data:
            raise CodecError("Message has no value (null or empty), so it is not a ledger event.")
        if len(data) < HEADER_LEN:
            raise CodecError(
                f"Message is {len(data)} bytes, shorter than the 10-byte single-object header."
            )
        if data[:2] != MAGIC:
            raise CodecError(
                f"Message starts with {data[:2].hex()}, not the Avro single-object marker c301."
            )
        writer = self.registry.by_fingerprint(data[2:HEADER_LEN])
        reader = self.registry.latest(writer.event_type)
        body = io.BytesIO(data[HEADER_LEN:])
        try:
            # Schema resolution is only needed (and only paid for) when the writer is older.
            plain = _plain_schema(writer)
            resolve = None if reader is writer else _plain_schema(reader).parsed
            record = fastavro.schemaless_reader(body, plain.parsed, resolve)
            if isinstance(record, dict):
                _from_logical(record, _plain_schema(reader).logical)
        except Exception as exc:  # fastavro raises many kinds on hostile bytes; all mean "corrupt"
            raise CodecError(
                f"The {writer.event_type} v{writer.version} body is truncated or corrupt "
                f"({type(exc).__name__})."
            ) from exc
        if body.tell() != len(data) - HEADER_LEN:
            trailing = len(data) - HEADER_LEN - body.tell()
            raise CodecError(
                f"The {writer.event_type} v{writer.version} body has {trailing} trailing bytes."
            )
        if not isinstance(record, dict):
            raise CodecError(f"The {writer.event_type} body did not decode to a record.")
        problems = record_problems(record)
        if problems:
            field, problem = problems[0]
            raise UnstorableEventError(
                f"The {writer.event_type} field {field} {problem}; the ledger cannot store it."
            )
        return DecodedEvent(from_record(writer.event_type, record), writer.version)


class RememberingCodec(EventCodec):
    """An ``EventCodec`` that decodes each distinct message once, for a replay: it claims a
    batch's event ids in append-time order (decoding every record) before its consumers apply
    the batch (decoding it again), and one process may run several consumers over the same
    records. Decoding is a pure function of the bytes, so what it returns is what a fresh
    decode would; a record that does not decode is decoded again, and raises again, each time.
    """

    def __init__(self, registry: SchemaRegistry | None = None, limit: int = 20_000) -> None:
        super().__init__(registry)
        self.limit = limit  # about 2 KB per remembered event; forgotten all at once when full
        self._seen: dict[bytes, DecodedEvent] = {}

    def decode(self, data: bytes | None) -> DecodedEvent:
        found = self._seen.get(data) if data else None
        if found is not None:
            return found
        decoded = super().decode(data)
        if len(self._seen) >= self.limit:
            self._seen.clear()
        self._seen[data] = decoded  # type: ignore[index]  # decode refused None and b""
        return decoded
