"""A disclosure's contents: what two recordings of one disclosure id are compared on."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime

import orjson
from hypothesis import given
from hypothesis import strategies as st

from ledger.events import DisclosureRecorded
from ledger.intake import build_event
from ledger.rules.config import load_rules_config
from ledger.rules.contents import NOT_CONTENTS, contents, contents_digest

REGISTRY = load_rules_config().registry


def _recorded(**changes: object) -> DisclosureRecorded:
    event = build_event(
        {
            "type": "DisclosureRecorded",
            "disclosure_id": "D-1",
            "source_agency": "IRS",
            "recipient_agency": "ICE",
            "legal_authority": "26 U.S.C. 6103(i)(2)",
            "purpose": "Non-tax criminal investigation",
            "nature": "LAST_KNOWN_ADDRESS",
            "transmitted_at": "2025-08-07T16:00:00+00:00",
            "record_count": 3,
            "tax_periods": ["2024", "2023"],
            "data_categories": ["address"],
        }
    )
    assert isinstance(event, DisclosureRecorded)
    return dataclasses.replace(event, **changes)  # type: ignore[arg-type]


def test_the_recording_fields_are_not_contents() -> None:
    assert {"event_id", "occurred_at", "recorded_by"} == NOT_CONTENTS
    first = _recorded()
    again = _recorded(
        event_id="00000000-0000-4000-8000-000000000001",
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        recorded_by="a re-run of ledger emit",
        source_agency="Internal Revenue Service",  # the same agency by another name
        tax_periods=["2023", "2024"],  # the same periods in another order
    )
    assert contents_digest(first, REGISTRY) == contents_digest(again, REGISTRY)


@given(
    change=st.sampled_from(
        [
            {"recipient_agency": "SSA"},
            {"record_count": 250_000},
            {"transmitted_at": datetime(2025, 8, 8, tzinfo=UTC)},
            {"purpose": "Another purpose"},
            {"tax_periods": ["2024"]},
            {"legal_authority": "26 U.S.C. 6103(i)(1)"},
            {"request_id": "R-1"},
        ]
    )
)
def test_any_field_describing_the_transmission_is_contents(change: dict[str, object]) -> None:
    first = _recorded()
    other = _recorded(**change)
    assert contents(first, REGISTRY) != contents(other, REGISTRY)
    assert contents_digest(first, REGISTRY) != contents_digest(other, REGISTRY)


def _contents_as_first_written(event: DisclosureRecorded) -> dict[str, object]:
    """contents() as migration 010's digests were taken: from the event's whole record."""
    record = event.to_record()
    for name in NOT_CONTENTS:
        record.pop(name, None)
    for name, value in record.items():
        if type(value) is list:
            record[name] = sorted(value, key=str)
    for name in ("source_agency", "recipient_agency"):
        record[name] = REGISTRY.agency(record[name]).id
    record["legal_authority"] = REGISTRY.authority(record["legal_authority"]).id
    return record


@given(
    periods=st.lists(st.sampled_from(["2021", "2022", "2023", "2024"]), min_size=1, max_size=4),
    refs=st.lists(st.text("0123456789abcdef", min_size=64, max_size=64), max_size=3),
    counts=st.dictionaries(st.sampled_from(["NAME_DOB_ADDRESS", "TIN_ONLY"]), st.integers(1, 9)),
    request_id=st.none() | st.just("R-7"),
)
def test_the_digest_is_the_one_stored_digests_were_taken_with(
    periods: list[str], refs: list[str], counts: dict[str, int], request_id: str | None
) -> None:
    """Digests are stored (disclosure_contents) and compared with later recordings' digests:
    the contents read from the event give the same bytes as the record they were first taken
    from."""
    event = _recorded(
        tax_periods=tuple(periods),
        taxpayer_refs=tuple(refs),
        match_counts=counts,
        request_id=request_id,
    )
    assert contents(event, REGISTRY) == _contents_as_first_written(event)
    expected = orjson.dumps(_contents_as_first_written(event), option=orjson.OPT_SORT_KEYS)
    assert contents_digest(event, REGISTRY) == hashlib.sha256(expected).digest()
