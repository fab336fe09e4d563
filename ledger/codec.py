"""Avro single-object encoding of ledger events: C3 01, 8-byte CRC-64-AVRO fingerprint, body.

Encodes a typed event (``ledger.events``) with the newest schema of its type and decodes any
published version back into the typed event of the newest.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from typing import Any

import fastavro

from ledger.errors import CodecError, EventValidationError, UnstorableEventError
from ledger.events import LedgerEvent, from_record
from ledger.schema_registry import SchemaRegistry, default_registry
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


def _plain(value: Any) -> Any:
    # fastavro returns uuid.UUID for logicalType uuid; the ledger speaks strings.
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


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
        buf = io.BytesIO()
        buf.write(MAGIC)
        buf.write(schema.fingerprint)
        try:
            fastavro.schemaless_writer(
                buf, schema.parsed, event.to_record(), strict_allow_default=True
            )
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
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
            resolve = None if reader is writer else reader.parsed
            record = fastavro.schemaless_reader(body, writer.parsed, resolve)
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
        plain = {k: _plain(v) for k, v in record.items()}
        problems = record_problems(plain)
        if problems:
            field, problem = problems[0]
            raise UnstorableEventError(
                f"The {writer.event_type} field {field} {problem}; the ledger cannot store it."
            )
        return DecodedEvent(from_record(writer.event_type, plain), writer.version)
