"""Producer-side validation: every line checked first, errors by line number, privacy rules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ledger.errors import EventValidationError
from ledger.intake import BatchValidationError, build_event, parse_lines
from ledger.privacy import contains_tin_shape, taxpayer_ref


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
    assert event.record["transmitted_at"].utcoffset().total_seconds() == 0
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
    assert build_event(disclosure(disclosure_id="D-20250807-123456789")).record["disclosure_id"]


def test_taxpayer_refs_must_be_keyed_hashes() -> None:
    ref = taxpayer_ref(b"k" * 32, "123-45-6789")
    assert build_event(disclosure(taxpayer_refs=[ref])).record["taxpayer_refs"] == [ref]
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
