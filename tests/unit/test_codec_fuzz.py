"""Property tests of the decoder: the topics are a trust boundary, anything may arrive on them.

Whatever bytes arrive, decode gives a DecodedEvent or raises CodecError, nothing else; and an
event it gives holds only values the projections can store. Derandomized, so CI is stable;
LEDGER_FUZZ_EXAMPLES=5000 (say) runs a longer search.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ledger.codec import MAGIC, DecodedEvent, EventCodec
from ledger.errors import CodecError
from ledger.intake import build_event
from ledger.schema_registry import default_registry
from ledger.storable import record_problems
from tests.unit.fuzz import fuzz_settings

FUZZ = fuzz_settings(300)

REGISTRY = default_registry()
CODEC = EventCodec(REGISTRY)
REF = "ab" * 32

SAMPLES = [
    {
        "type": "DisclosureRecorded",
        "disclosure_id": "D-1",
        "source_agency": "IRS",
        "recipient_agency": "ICE",
        "legal_authority": "26 U.S.C. 6103(i)(2)",
        "purpose": "p",
        "nature": "LAST_KNOWN_ADDRESS",
        "transmitted_at": "2025-08-07T19:12:00Z",
        "record_count": 47289,
        "tax_periods": ["2024"],
        "data_categories": ["address"],
        "match_method": "TIN_NAME",
        "manifest_sha256": "0" * 64,
        "taxpayer_refs": [REF],
    },
    {
        "type": "DisclosureManifest",
        "disclosure_id": "D-1",
        "recipient_agency": "ICE",
        "chunk_index": 0,
        "chunk_count": 1,
        "taxpayer_refs": [REF, REF],
    },
    {
        "type": "NoticeFiled",
        "notice_id": "N-1",
        "case_reference": "1:25-cv-00457-CKK",
        "filed_at": "2025-09-01T12:00:00Z",
        "served_on": ["plaintiffs"],
        "recipient_agency": "ICE",
        "legal_authority": "26 U.S.C. 6103(i)(2)",
        "planned_transmission_start": "2025-09-03T00:00:00Z",
        "planned_transmission_end": "2025-09-04T00:00:00Z",
        "expected_record_count": 5000,
    },
    {
        "type": "CourtOrderRecorded",
        "order_id": "O-1",
        "case_reference": "1:25-cv-00457-CKK",
        "court": "D.D.C.",
        "order_type": "STAY",
        "entered_at": "2025-09-01T12:00:00Z",
        "effective_at": "2025-09-01T12:00:00Z",
        "expires_at": "2026-01-01T00:00:00Z",
        "recipients": ["ICE"],
        "bulk_threshold": 1000,
        "notice_hours": 24,
    },
    {
        "type": "DisclosureAmended",
        "disclosure_id": "D-1",
        "recipient_agency": "ICE",
        "changes": {"record_count": "47290"},
        "reason": "count",
    },
    {
        "type": "LedgerAccessed",
        "accessor": "a",
        "role": "overseer",
        "action": "query",
        "query": {"since": "2025-08-01"},
        "records_returned": 3,
    },
    {
        "type": "AlertRaised",
        "alert_id": "A-1",
        "rule": "spike_over_prior_year",
        "severity": "high",
        "scope": "recipient:ICE",
        "day": "2025-08-07",
        "observed": 47289,
        "threshold": 120,
        "evidence": ["e"],
        "legal_source": "6103(p)(4)",
        "message": "m",
    },
    {"type": "AlertAcknowledged", "alert_id": "A-1", "acknowledged_by": "duty officer"},
]
VALID = [CODEC.encode(build_event(sample)) for sample in SAMPLES]
HEADERS = [MAGIC + v.fingerprint for v in REGISTRY.versions]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid message with some bytes replaced, inserted, removed, or the tail cut off."""
    data = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        at = draw(st.integers(min_value=0, max_value=len(data)))
        action = draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
        if action == "replace" and at < len(data):
            data[at] = draw(st.integers(min_value=0, max_value=255))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif action == "delete":
            del data[at : at + draw(st.integers(min_value=1, max_value=8))]
        else:
            del data[at:]
    return bytes(data)


messages = st.one_of(
    st.binary(max_size=64),
    st.builds(
        lambda header, body: header + body, st.sampled_from(HEADERS), st.binary(max_size=200)
    ),
    mutated(),
)


def decode_or_refuse(data: Any) -> DecodedEvent | None:
    try:
        decoded = CODEC.decode(data)
    except CodecError:
        return None
    assert isinstance(decoded, DecodedEvent)
    return decoded


@FUZZ
@given(messages)
@example(b"")
@example(MAGIC)
@example(HEADERS[0])
@example(VALID[0] + b"\x00")
def test_any_bytes_decode_to_an_event_or_a_codec_error(data: bytes) -> None:
    decode_or_refuse(data)


@FUZZ
@given(messages)
def test_a_decoded_event_holds_only_storable_values(data: bytes) -> None:
    decoded = decode_or_refuse(data)
    if decoded is not None:
        assert record_problems(decoded.event.to_record()) == []


@pytest.mark.parametrize("value", [None, b"", bytearray(b"\xc3\x01")])
def test_missing_or_empty_values_are_codec_errors(value: Any) -> None:
    with pytest.raises(CodecError):
        CODEC.decode(value)


def test_every_valid_sample_decodes() -> None:
    for data in VALID:
        assert decode_or_refuse(data) is not None
