"""The single-object codec: round trips, fingerprints, corrupt input."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import fastavro.schema
import pytest
from fastavro.utils import generate_one

from ledger.codec import MAGIC, EventCodec, RememberingCodec
from ledger.errors import CodecError, UnknownSchemaError
from ledger.events import EVENT_CLASSES, DisclosureRecorded, from_record
from ledger.schema_registry import crc64_avro, default_registry


@pytest.fixture(scope="module")
def codec() -> EventCodec:
    return EventCodec()


def test_crc64_avro_matches_the_specification_example() -> None:
    # Avro spec: the fingerprint of the schema "int" is 8f5c393f1ad57572 (little-endian bytes).
    assert crc64_avro(b'"int"').to_bytes(8, "little").hex() == "8f5c393f1ad57572"


@pytest.mark.parametrize(
    "version", default_registry().versions, ids=lambda v: f"{v.event_type}-v{v.version}"
)
def test_fingerprint_is_crc64_of_the_parsing_canonical_form(version) -> None:
    raw = json.loads(version.path.read_text())
    canonical = fastavro.schema.to_parsing_canonical_form(fastavro.schema.parse_schema(raw))
    # fastavro prints the 64-bit value's little-endian bytes in hex; ours must agree.
    assert version.fingerprint.hex() == fastavro.schema.fingerprint(canonical, "CRC-64-AVRO")


def _storable(value: object) -> object:
    """fastavro's random sample, moved inside what the ledger stores (ledger.storable)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return abs(value) % 2**53
    if isinstance(value, datetime):
        return datetime(2025, 8, 7, 12, 0, tzinfo=UTC)
    if isinstance(value, date):
        return date(2025, 8, 7)
    if isinstance(value, list):
        return [_storable(v) for v in value]
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("event_type", default_registry().event_types)
def test_every_event_type_round_trips(codec: EventCodec, event_type: str) -> None:
    schema = default_registry().latest(event_type)
    record = _storable(generate_one(schema.parsed))
    for f in schema.parsed["fields"]:  # generate_one gives raw ints for date/timestamp fields
        logical = json.dumps(f["type"])
        if record.get(f["name"]) is not None and '"date"' in logical:
            record[f["name"]] = date(2025, 8, 7)
        elif record.get(f["name"]) is not None and "timestamp-" in logical:
            record[f["name"]] = datetime(2025, 8, 7, 12, 0, tzinfo=UTC)
    if "manifest_sha256" in record:
        record["manifest_sha256"] = "ab" * 32
    data = codec.encode(from_record(event_type, record))
    assert data[:2] == MAGIC
    assert data[2:10] == schema.fingerprint
    decoded = codec.decode(data)
    assert decoded.event_type == event_type
    assert type(decoded.event) is EVENT_CLASSES[event_type]
    assert decoded.writer_version == schema.version
    # Re-encoding what was read gives bytes that read back to the same event.
    again = codec.encode(decoded.event)
    assert codec.decode(again).event == decoded.event
    assert codec.encode(codec.decode(again).event) == again


def test_disclosure_round_trip_keeps_values(codec: EventCodec) -> None:
    now = datetime(2025, 8, 7, 19, 12, 0, 123456, tzinfo=UTC)
    record = {
        "event_id": "2b0f0a56-3b5f-4b0e-8f3c-6f2a5d7e9c01",
        "occurred_at": now,
        "recorded_by": "irs",
        "disclosure_id": "D-1",
        "source_agency": "IRS",
        "recipient_agency": "ICE",
        "legal_authority": "26 U.S.C. 6103(i)(2)",
        "purpose": "p",
        "nature": "LAST_KNOWN_ADDRESS",
        "transmitted_at": now,
        "record_count": 47289,
        "tax_periods": ["2024"],
        "data_categories": ["address"],
        "address_verification": "PLACEHOLDER",
    }
    out = codec.decode(codec.encode(from_record("DisclosureRecorded", record))).event
    assert isinstance(out, DisclosureRecorded)
    assert out.transmitted_at == now
    assert out.record_count == 47289
    assert out.address_verification == "PLACEHOLDER"
    assert out.taxpayer_refs == ()
    assert out.event_id == record["event_id"]


def test_unknown_fingerprint_is_a_typed_error(codec: EventCodec) -> None:
    with pytest.raises(UnknownSchemaError, match="fingerprint 0102030405060708"):
        codec.decode(MAGIC + bytes(range(1, 9)) + b"\x00")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "no value"),
        (None, "no value"),
        (MAGIC + b"\x01", "shorter than the 10-byte"),
        (b"\x00\x01" + bytes(8), "not the Avro single-object marker"),
        (b'{"json": true}', "not the Avro single-object marker"),
    ],
)
def test_corrupt_headers_are_typed_errors(
    codec: EventCodec, data: bytes | None, message: str
) -> None:
    with pytest.raises(CodecError, match=message):
        codec.decode(data)


def test_truncated_and_padded_bodies_are_typed_errors(codec: EventCodec) -> None:
    schema = default_registry().latest("NoticeFiled")
    data = codec.encode(from_record("NoticeFiled", generate_one(schema.parsed)))
    with pytest.raises(CodecError, match="truncated or corrupt"):
        codec.decode(data[:-5])
    with pytest.raises(CodecError, match="trailing bytes"):
        codec.decode(data + b"\x00\x00")


def _recorded(**changes: object) -> DisclosureRecorded:
    """A small DisclosureRecorded, with ``changes``."""
    when = datetime(2025, 8, 7, tzinfo=UTC)
    fields: dict[str, object] = {
        "event_id": "2b0f0a56-3b5f-4b0e-8f3c-6f2a5d7e9c01", "occurred_at": when,
        "recorded_by": "irs", "disclosure_id": "D-1", "source_agency": "IRS",
        "recipient_agency": "ICE", "legal_authority": "26 U.S.C. 6103(i)(2)", "purpose": "p",
        "nature": "LAST_KNOWN_ADDRESS", "transmitted_at": when, "record_count": 1,
        "tax_periods": ["2024"], "data_categories": ["address"],
    }  # fmt: skip
    event = from_record("DisclosureRecorded", {**fields, **changes})
    assert isinstance(event, DisclosureRecorded)
    return event


def test_a_uuid_in_another_spelling_decodes_to_its_canonical_text(codec: EventCodec) -> None:
    canonical = "2b0f0a56-3b5f-4b0e-8f3c-6f2a5d7e9c01"
    for spelling in (canonical.upper(), "{" + canonical + "}", canonical.replace("-", "")):
        out = codec.decode(codec.encode(_recorded(event_id=spelling))).event
        assert out.event_id == canonical
    with pytest.raises(CodecError):
        codec.decode(codec.encode(_recorded(event_id=canonical + "\n")))


def test_the_remembering_codec_decodes_as_the_plain_one_and_forgets_when_full() -> None:
    plain, remembering = EventCodec(), RememberingCodec(limit=2)
    messages = [
        plain.encode(_recorded(event_id=f"2b0f0a56-3b5f-4b0e-8f3c-6f2a5d7e9c0{i}", record_count=i))
        for i in range(3)
    ]
    first = remembering.decode(messages[0])
    assert first == plain.decode(messages[0])
    assert remembering.decode(bytes(messages[0])) is first  # the same bytes: decoded once
    for message in messages[1:]:
        assert remembering.decode(message) == plain.decode(message)
    assert len(remembering._seen) <= 2
    for _ in range(2):  # a bad record raises each time, never remembered
        with pytest.raises(CodecError):
            remembering.decode(messages[0][:-3])
