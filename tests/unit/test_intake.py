"""Producer-side validation: every line checked first, errors by line number, privacy rules."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from ledger.codec import EventCodec
from ledger.errors import EventValidationError
from ledger.events import DisclosureRecorded
from ledger.intake import (
    EMIT_EVENT_TYPES,
    LEDGER_EVENT_TYPES,
    BatchValidationError,
    build_event,
    oversize_reason,
    parse_lines,
)
from ledger.kafka.producer import message_size
from ledger.privacy import (
    contains_tin_shape,
    is_taxpayer_ref,
    is_tin_shaped,
    normalize_tin,
    taxpayer_ref,
)
from ledger.schema_registry import default_registry


def disclosure(**overrides: Any) -> dict[str, Any]:
    base = {
        "type": "DisclosureRecorded",
        "disclosure_id": "D-1",
        "source_agency": "IRS",
        "recipient_agency": "ICE",
        "legal_authority": "26 U.S.C. 6103(i)(2)",
        "purpose": "Non-tax criminal investigation",
        "nature": "LAST_KNOWN_ADDRESS",
        "transmitted_at": "2025-08-07T19:12:00Z",
        "record_count": 10,
        "tax_periods": ["2024"],
        "data_categories": ["address"],
    }
    base.update(overrides)
    return base


def test_a_good_line_gets_an_event_id_and_utc_timestamps() -> None:
    (event,) = parse_lines([json.dumps(disclosure())])
    assert event.event_type == "DisclosureRecorded"
    assert len(event.event_id) == 36
    assert isinstance(event, DisclosureRecorded)
    assert event.transmitted_at.utcoffset().total_seconds() == 0
    assert event.key == "ICE"


def test_given_event_id_is_kept() -> None:
    eid = "2b0f0a56-3b5f-4b0e-8f3c-6f2a5d7e9c01"
    assert build_event(disclosure(event_id=eid)).event_id == eid


def test_every_bad_line_is_reported_with_its_number_and_nothing_passes() -> None:
    lines = [
        json.dumps(disclosure()),
        "{not json",
        json.dumps(disclosure(record_count="many")),
        "",
        json.dumps(disclosure(type="Nope")),
        json.dumps(disclosure(transmitted_at="2025-08-07T19:12:00")),
        json.dumps(disclosure(extra_field=1)),
        json.dumps({k: v for k, v in disclosure().items() if k != "purpose"}),
    ]
    with pytest.raises(BatchValidationError) as info:
        parse_lines(lines)
    by_line = {e.line: e.reason for e in info.value.errors}
    assert sorted(by_line) == [2, 3, 5, 6, 7, 8]
    assert "not valid JSON" in by_line[2]
    assert "record_count" in by_line[3]
    assert "Unknown event type 'Nope'" in by_line[5]
    assert "no UTC offset" in by_line[6]
    assert "no field(s) extra_field" in by_line[7]
    assert "missing purpose" in by_line[8]
    assert "nothing was sent" in str(info.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("purpose", "Taxpayer 123-45-6789 requested"),
        ("purpose", "ITIN 912-70-1234"),
        ("recipient_address", "EIN 12-3456789, Main St"),
        ("request_id", "123-45-6789"),
        ("notice_id", "123456789"),
        ("tax_periods", ["2024", "123456789"]),
    ],
)
def test_tin_shaped_free_text_is_rejected(field: str, value: Any) -> None:
    with pytest.raises(EventValidationError, match="shaped like an SSN, ITIN or EIN"):
        build_event(disclosure(**{field: value}))


@pytest.mark.parametrize(
    "text",
    ["1:25-cv-00457-CKK", "Washington DC 20001-1234", "47,289 records", "2025-08-07", "1234567890"],
)
def test_ordinary_text_is_not_mistaken_for_a_tin(text: str) -> None:
    assert not contains_tin_shape(text)


def test_identifiers_may_hold_digit_runs_but_not_be_a_tin() -> None:
    assert build_event(disclosure(disclosure_id="D-20250807-123456789")).disclosure_id


def test_taxpayer_refs_must_be_keyed_hashes() -> None:
    ref = taxpayer_ref(b"k" * 32, "123-45-6789")
    assert build_event(disclosure(taxpayer_refs=[ref])).taxpayer_refs == (ref,)
    with pytest.raises(EventValidationError, match="keyed hashes"):
        build_event(disclosure(taxpayer_refs=["123456789"]))


def test_taxpayer_ref_normalises_and_depends_on_the_key() -> None:
    key = b"k" * 32
    assert taxpayer_ref(key, "123-45-6789") == taxpayer_ref(key, "123456789")
    assert taxpayer_ref(key, "123456789") != taxpayer_ref(b"j" * 32, "123456789")
    with pytest.raises(EventValidationError):
        taxpayer_ref(key, "12345")


def test_negative_record_count_is_rejected() -> None:
    with pytest.raises(EventValidationError, match="negative"):
        build_event(disclosure(record_count=-1))


# --- What the projections cannot hold is refused at intake, naming the field, never the value ---

TIN = "123-45-6789"
REF = "ab" * 32


def test_every_schema_type_is_either_emitted_by_agencies_or_written_by_the_ledger() -> None:
    assert EMIT_EVENT_TYPES.isdisjoint(LEDGER_EVENT_TYPES)
    assert set(default_registry().event_types) == EMIT_EVENT_TYPES | LEDGER_EVENT_TYPES


@pytest.mark.parametrize("event_type", sorted(LEDGER_EVENT_TYPES))
def test_ledger_emit_refuses_the_events_the_ledger_writes_itself(event_type: str) -> None:
    lines = [json.dumps(disclosure()), json.dumps({"type": event_type})]
    with pytest.raises(BatchValidationError) as info:
        parse_lines(lines)
    ((line, reason),) = [(e.line, e.reason) for e in info.value.errors]
    assert line == 2
    assert f"{event_type} events are written by the ledger itself" in reason
    assert "DisclosureRecorded" in reason


def test_the_ledgers_own_writers_still_build_their_events() -> None:
    accessed = {
        "type": "LedgerAccessed",
        "accessor": "a",
        "role": "overseer",
        "action": "query",
        "query": {"since": "2025-08-01"},
        "records_returned": 3,
    }
    assert build_event(accessed).event_type == "LedgerAccessed"
    ack = {"type": "AlertAcknowledged", "alert_id": "A-1", "acknowledged_by": "duty officer"}
    assert build_event(ack).event_type == "AlertAcknowledged"
    (event,) = parse_lines([json.dumps(accessed)], allowed_types=None)
    assert event.event_type == "LedgerAccessed"


def test_an_unknown_type_is_named_only_when_it_looks_like_a_schema_name() -> None:
    with pytest.raises(BatchValidationError) as info:
        parse_lines([json.dumps(disclosure(type="Nope")), json.dumps(disclosure(type=TIN))])
    first, second = (e.reason for e in info.value.errors)
    assert "Unknown event type 'Nope'" in first
    assert "Unknown event type" in second
    assert TIN not in second
    assert "LedgerAccessed" not in first  # emit lists only what it accepts


@pytest.mark.parametrize(
    ("overrides", "field", "problem"),
    [
        ({"purpose": "ok\x00"}, "purpose", "NUL"),
        ({"tax_periods": ["2024", "20\x0025"]}, "tax_periods[1]", "NUL"),
        ({"data_categories": ["\ud800"]}, "data_categories[0]", "lone surrogate"),
        ({"recipient_address": "Main St \udfff"}, "recipient_address", "lone surrogate"),
        ({"record_count": 2**53 + 1}, "record_count", "2^53"),
        ({"record_count": -1}, "record_count", "negative"),
        ({"transmitted_at": "1899-12-31T23:59:59Z"}, "transmitted_at", "1900-01-01 and 2200"),
        ({"transmitted_at": "2200-01-01T00:00:00Z"}, "transmitted_at", "1900-01-01 and 2200"),
        ({"transmitted_at": "0001-01-01T00:00:00+05:00"}, "transmitted_at", "1900-01-01"),
        ({"occurred_at": "9999-12-31T23:59:59-05:00"}, "occurred_at", "1900-01-01"),
        ({"manifest_sha256": "abc"}, "manifest_sha256", "64 hex"),
        ({"manifest_sha256": "g" * 64}, "manifest_sha256", "64 hex"),
    ],
)
def test_values_the_projections_cannot_hold_are_refused(
    overrides: dict[str, Any], field: str, problem: str
) -> None:
    with pytest.raises(BatchValidationError) as info:
        parse_lines([json.dumps(disclosure()), json.dumps(disclosure(**overrides))])
    ((line, reason),) = [(e.line, e.reason) for e in info.value.errors]
    assert line == 2
    assert reason.startswith(field + " ") or reason.startswith(field + ":"), reason
    assert problem in reason


def test_maps_counts_and_dates_of_the_other_schemas_are_checked_too() -> None:
    amended = {
        "type": "DisclosureAmended",
        "disclosure_id": "D-1",
        "recipient_agency": "ICE",
        "changes": {"record_count": "12"},
        "reason": "typo",
    }
    assert build_event(amended).changes == {"record_count": "12"}
    with pytest.raises(EventValidationError, match=r"changes\[key\] contains a NUL"):
        build_event({**amended, "changes": {"a\x00": "1"}})
    with pytest.raises(EventValidationError, match=r"changes\[value\] contains a lone surrogate"):
        build_event({**amended, "changes": {"a": "\ud83d"}})
    manifest = {
        "type": "DisclosureManifest",
        "disclosure_id": "D-1",
        "recipient_agency": "ICE",
        "chunk_index": 0,
        "chunk_count": 1,
        "taxpayer_refs": [REF],
    }
    assert build_event(manifest).chunk_count == 1
    with pytest.raises(EventValidationError, match="chunk_index cannot be negative"):
        build_event({**manifest, "chunk_index": -1})
    alert = {
        "type": "AlertRaised",
        "alert_id": "A",
        "rule": "r",
        "severity": "high",
        "scope": "s",
        "day": "2025-08-07",
        "observed": 5,
        "threshold": 4,
        "evidence": [],
        "legal_source": "l",
        "message": "m",
    }
    assert build_event(alert).day == date(2025, 8, 7)
    with pytest.raises(EventValidationError, match="day must be between 1900-01-01 and 2200"):
        build_event({**alert, "day": "1776-07-04"})
    with pytest.raises(EventValidationError, match="observed must be between 0 and 2"):
        build_event({**alert, "observed": 2**60})
    order = {
        "type": "CourtOrderRecorded",
        "order_id": "O-1",
        "case_reference": "1:25-cv-00457-CKK",
        "court": "D.D.C.",
        "order_type": "NOTICE_REQUIREMENT",
        "entered_at": "2025-09-01T12:00:00Z",
        "effective_at": "2025-09-01T12:00:00Z",
        "notice_hours": -24,
    }
    with pytest.raises(EventValidationError, match="notice_hours cannot be negative"):
        build_event(order)


@pytest.mark.parametrize(
    "overrides",
    [
        {"transmitted_at": TIN},
        {"transmitted_at": "123456789"},
        {"occurred_at": f"2025-08-07T00:00:00 {TIN}"},
        {"event_id": TIN},
        {"amends_event_id": TIN},
        {"record_count": TIN},
        {"record_count": [TIN]},
        {"tax_periods": TIN},
        {"tax_periods": [TIN, 5]},
        {"match_method": TIN},
        {"manifest_sha256": TIN},
        {"taxpayer_refs": [TIN]},
        {"purpose": TIN + "\x00"},
        {"purpose": {"x": TIN}},
        {TIN: 1},
        {"type": TIN},
        {
            "type": "DisclosureAmended",
            "disclosure_id": "D",
            "recipient_agency": "I",
            "reason": "r",
            "changes": {TIN: TIN + "\x00"},
        },
    ],
)
def test_no_error_message_repeats_the_value(overrides: dict[str, Any]) -> None:
    obj = disclosure(**overrides)
    if obj["type"] == "DisclosureAmended":
        obj = {k: v for k, v in overrides.items()}
    with pytest.raises(BatchValidationError) as info:
        parse_lines([json.dumps(obj)])
    message = str(info.value)
    for needle in (TIN, "123456789", "45-6789", "6789"):
        assert needle not in message, message
    assert "line 1:" in message


def test_uuids_are_kept_in_their_canonical_form() -> None:
    upper = "2B0F0A56-3B5F-4B0E-8F3C-6F2A5D7E9C01"
    assert build_event(disclosure(event_id=upper)).event_id == upper.lower()
    with pytest.raises(EventValidationError, match="event_id: expected a UUID string"):
        build_event(disclosure(event_id=5))


@pytest.mark.parametrize(
    "text",
    [
        "SSN 123 45 6789",
        "SSN 123.45.6789.",
        "mixed 123-45 6789",
        "EIN 12 3456789",
        "full-width １２３４５６７８９",
    ],
)
def test_tins_written_with_spaces_or_dots_are_tins(text: str) -> None:
    assert contains_tin_shape(text)
    with pytest.raises(EventValidationError, match="shaped like an SSN, ITIN or EIN"):
        build_event(disclosure(purpose=text))


@pytest.mark.parametrize(
    "text",
    [
        "2025-08-07",
        "07.08.2025",
        "1:25-cv-01234",
        "No. 25-5123",
        "202 555 0143",
        "(202) 555-0143",
        "202.555.0143",
        "+1 202 555 0143",
        "lat 38.8976763",
        "12.3456789",
        "192.168.100.200",
        "26 U.S.C. 6103(i)(2)",
        "Washington DC 20001 1234",
        "ZIP 20001-1234",
    ],
)
def test_dates_dockets_phones_and_decimals_are_not_tins(text: str) -> None:
    assert not contains_tin_shape(text)


def test_identifiers_that_are_tins_in_any_spelling_are_refused() -> None:
    for tin in ("123 45 6789", "123.45.6789", "12 3456789"):
        assert is_tin_shaped(tin)
        with pytest.raises(EventValidationError, match="identifiers must not be taxpayer numbers"):
            build_event(disclosure(request_id=tin))


def test_taxpayer_refs_normalise_every_spelling_of_a_tin() -> None:
    key = b"k" * 32
    ref = taxpayer_ref(key, "123456789")
    for spelling in ("123-45-6789", "123 45 6789", "123.45.6789", "１２３４５６７８９"):
        assert normalize_tin(spelling) == "123456789"
        assert taxpayer_ref(key, spelling) == ref
    for bad in ("12345678", "1234567890", "12345678x", "123\x0045678"):
        with pytest.raises(EventValidationError):
            normalize_tin(bad)


def test_a_taxpayer_ref_is_exactly_64_lowercase_hex_digits() -> None:
    assert is_taxpayer_ref(REF)
    assert not is_taxpayer_ref(REF + "\n")
    assert not is_taxpayer_ref(REF.upper())


def test_json_the_parser_cannot_hold_is_a_line_error() -> None:
    with pytest.raises(BatchValidationError) as info:
        parse_lines(["[" * 100_000, "1" * 5000, json.dumps(disclosure())])
    assert [e.line for e in info.value.errors] == [1, 2]


def test_an_oversized_event_names_its_largest_field() -> None:
    event = build_event(
        {
            "type": "DisclosureManifest",
            "disclosure_id": "D-1",
            "recipient_agency": "ICE",
            "chunk_index": 0,
            "chunk_count": 1,
            "taxpayer_refs": [REF] * 20_000,
        }
    )
    value = EventCodec().encode(event)
    size = message_size(value, event.key.encode(), [("event_type", b"DisclosureManifest")])
    assert len(value) < size < len(value) + 200
    reason = oversize_reason(event, size, 1_048_588)
    assert f"{size:,} bytes" in reason
    assert "1,048,588" in reason
    assert "taxpayer_refs" in reason


def test_checks_belong_to_the_schema_object_not_to_its_type_and_version(tmp_path) -> None:
    # Two registries (a test's beside the package's, say) may publish different schemas under
    # one type and version number; what intake compiles for one must not be used for the other.
    from ledger.intake_values import coerce_logical_types, mismatched_fields
    from ledger.schema_registry import SchemaRegistry

    def registry(root: Any, count_type: Any) -> SchemaRegistry:
        (root / "Probe").mkdir(parents=True)
        fields = [{"name": "count", "type": count_type}, {"name": "note", "type": "string"}]
        schema = {"type": "record", "name": "Probe", "fields": fields}
        (root / "Probe" / "v1.avsc").write_text(json.dumps(schema), encoding="utf-8")
        return SchemaRegistry.from_directory(root)

    as_long = registry(tmp_path / "a", "long").latest("Probe")
    as_day = registry(tmp_path / "b", {"type": "int", "logicalType": "date"}).latest("Probe")
    assert (as_long.event_type, as_long.version) == (as_day.event_type, as_day.version)
    assert mismatched_fields(as_long, {"count": 3, "note": "x"}) == []
    assert mismatched_fields(as_day, {"count": 3, "note": "x"}) == ["count"]
    assert as_long.logical_fields == ()
    record: dict[str, Any] = {"count": "2026-12-06", "note": "x"}
    coerce_logical_types(as_day, record)
    assert record["count"] == date(2026, 12, 6)
    assert as_day.required_fields == ("count", "note")
