"""What the projections can hold, and how consumers tell a bad record from a broken service."""

from __future__ import annotations

from datetime import UTC, date, datetime

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaConnectionError, KafkaTimeoutError

from consumers.base import malformed_alert, plain_reason
from consumers.runner import is_infrastructure
from ledger.codec import EventCodec
from ledger.errors import CodecError, ServiceError, UnstorableEventError
from ledger.events import from_record
from ledger.rules.model import LogScope
from ledger.storable import COUNT_MAX, record_problems
from ledger.store.connection import translate


def test_clean_record_has_no_problems() -> None:
    record = {
        "purpose": "Non-tax criminal investigation",
        "record_count": COUNT_MAX,
        "transmitted_at": datetime(2025, 8, 7, tzinfo=UTC),
        "day": date(1900, 1, 1),
        "manifest_sha256": "ab" * 32,
        "tax_periods": ["2024"],
        "query": {"kind": "source"},
    }
    assert record_problems(record) == []


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"purpose": "a\x00b"}, "purpose"),
        ({"tax_periods": ["2024", "\ud800"]}, "tax_periods[1]"),
        ({"query": {"value": "\x00"}}, "query[value]"),
        ({"query": {"\x00": "v"}}, "query[key]"),
        ({"record_count": -1}, "record_count"),
        ({"record_count": COUNT_MAX + 1}, "record_count"),
        ({"transmitted_at": datetime(1899, 12, 31, tzinfo=UTC)}, "transmitted_at"),
        ({"transmitted_at": datetime(2200, 1, 1, tzinfo=UTC)}, "transmitted_at"),
        ({"day": date(9999, 1, 1)}, "day"),
        ({"manifest_sha256": "not a digest"}, "manifest_sha256"),
    ],
)
def test_each_unstorable_value_is_named_by_field_never_by_value(record, field) -> None:
    problems = record_problems(record)
    assert [f for f, _ in problems] == [field]
    for _, problem in problems:
        assert "\x00" not in problem
        assert "not a digest" not in problem


def test_decoder_refuses_a_well_formed_record_holding_a_nul() -> None:
    codec = EventCodec()
    record = {
        "event_id": "2b0f0a56-3b5f-4b0e-8f3c-6f2a5d7e9c01",
        "occurred_at": datetime(2025, 8, 7, tzinfo=UTC),
        "recorded_by": "api",
        "accessor": "someone",
        "role": "public",
        "action": "volume",
        "query": {"value": "\x00"},
        "records_returned": 0,
        "status": 200,
    }
    data = codec.encode(from_record("LedgerAccessed", record))
    with pytest.raises(UnstorableEventError, match=r"query\[value\] contains a NUL"):
        codec.decode(data)
    assert issubclass(UnstorableEventError, CodecError)


@pytest.mark.parametrize(
    ("exc", "infrastructure"),
    [
        (psycopg.OperationalError("server closed the connection unexpectedly"), True),
        (psycopg.errors.AdminShutdown(), True),
        (psycopg.errors.DeadlockDetected(), True),
        (psycopg.InterfaceError("connection already closed"), True),
        (KafkaConnectionError(), True),
        (KafkaTimeoutError(), True),
        (ServiceError("Cannot connect"), True),
        (psycopg.errors.UntranslatableCharacter(), False),
        (psycopg.errors.NumericValueOutOfRange(), False),
        (psycopg.errors.ProgramLimitExceeded(), False),
        (psycopg.errors.UniqueViolation(), False),
        (OverflowError("date value out of range"), False),
        (KeyError("event_id"), False),
    ],
)
def test_infrastructure_failures_are_told_from_bad_records(exc, infrastructure) -> None:
    # Driver errors reach the consumers only as the store translated them.
    seen = translate(exc) if isinstance(exc, psycopg.Error) else exc
    assert is_infrastructure(seen) is infrastructure


def test_a_dead_letter_reason_is_one_storable_line() -> None:
    reason = plain_reason(ValueError("bad \x00 value\nsecond line \ud800"))
    assert reason == "ValueError: bad \\0 value"


def _slow_problems(record):
    """The full walk alone, without the fast path (what record_problems did before it)."""
    from ledger import storable

    clean = storable._clean
    storable._clean = lambda *_: False
    try:
        return storable.record_problems(record)
    finally:
        storable._clean = clean


_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.datetimes(timezones=st.none() | st.just(UTC))
    | st.dates(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
_NAMES = st.sampled_from(["purpose", "record_count", "manifest_sha256", "status", "query", "day"])


@settings(max_examples=400, derandomize=True)
@given(st.dictionaries(_NAMES, _VALUES, max_size=5))
def test_the_fast_path_agrees_with_the_full_walk(record) -> None:
    assert record_problems(record) == _slow_problems(record)


def test_a_bad_message_raises_one_alert_whose_id_is_its_place_in_the_log() -> None:
    sent = int(datetime(2025, 8, 7, 19, 12, tzinfo=UTC).timestamp() * 1000)
    record = ConsumerRecord(
        "t.x.ledger.disclosures", 2, None, 41, sent, 0, None, b"\0", [], None, 0, 1, 0
    )
    alert = malformed_alert(record, "not Avro")
    # Pinned: the same message dead-lettered by any consumer, on any replay, is one alert.
    assert alert.alert_id == "4eb2ec6d-e2ec-5bee-b414-f2115ae14f79"
    assert (alert.rule, alert.scope, alert.day, alert.observed, alert.threshold) == (
        "malformed_event",
        LogScope("t.x.ledger.disclosures", 2),
        date(2025, 8, 7),
        1,
        None,
    )
    assert alert.evidence == ["t.x.ledger.disclosures/2@41"]
    assert alert.message.endswith("went to the dead-letter topic: not Avro")
