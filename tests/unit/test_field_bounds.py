"""Every string an event holds has a length bound, documented beside the schema, checked at intake."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import EventValidationError
from ledger.intake import build_event
from ledger.storable import FIELD_BOUNDS, IDENTIFIER_FIELDS, length_bound, record_problems

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = sorted((ROOT / "schemas").glob("*/v*.avsc"))
DOC = ROOT / "docs" / "dup.md"
_ROW = re.compile(r"^\| `(\w+)` \| ([\d,]+) \| (identifier|free text) \|", re.MULTILINE)


def _holds_text(kind: Any) -> bool:
    """Whether an Avro type holds a string anywhere (a map's keys always are strings)."""
    if isinstance(kind, list):
        return any(_holds_text(k) for k in kind)
    if isinstance(kind, dict):
        if kind.get("type") == "map":
            return True
        if kind.get("type") == "array":
            return _holds_text(kind["items"])
        if kind.get("type") == "enum":
            return True
        return _holds_text(kind.get("type"))
    return kind == "string"


def _text_fields() -> set[str]:
    names = set()
    for path in SCHEMAS:
        for field in json.loads(path.read_text())["fields"]:
            if _holds_text(field["type"]):
                names.add(field["name"])
    return names


def test_every_string_field_of_every_schema_has_a_bound() -> None:
    fields = _text_fields()
    assert fields - set(FIELD_BOUNDS) == set()
    assert set(FIELD_BOUNDS) - fields == set()  # no bound for a field no schema has


def test_the_documented_table_is_the_bounds() -> None:
    table = {m[1]: (int(m[2].replace(",", "")), m[3]) for m in _ROW.finditer(DOC.read_text())}
    assert table == {
        name: (bound, "identifier" if name in IDENTIFIER_FIELDS else "free text")
        for name, bound in FIELD_BOUNDS.items()
    }


def _disclosure(**changes: Any) -> dict[str, Any]:
    return {
        "type": "DisclosureRecorded",
        "disclosure_id": "D-1",
        "source_agency": "IRS",
        "recipient_agency": "ICE",
        "legal_authority": "26 U.S.C. 6103(i)(2)",
        "purpose": "Non-tax criminal investigation",
        "nature": "LAST_KNOWN_ADDRESS",
        "transmitted_at": "2025-08-07T16:00:00+00:00",
        "record_count": 3,
        "tax_periods": ["2024"],
        "data_categories": ["address"],
        **changes,
    }


# Letters only (a digit run could be shaped like a TIN), four-byte characters included: the
# widest UTF-8 an index row must hold.
_LETTERS = st.characters(codec="utf-8", categories=["Lu", "Ll", "Lo"])


@settings(max_examples=40, deadline=None)
@given(
    field=st.sampled_from(["disclosure_id", "recipient_agency", "purpose", "tax_periods"]),
    text=st.text(_LETTERS, min_size=1, max_size=1),
    over=st.integers(0, 1),
)
def test_intake_takes_a_value_at_its_bound_and_refuses_one_past_it(
    field: str, text: str, over: int
) -> None:
    bound = length_bound(field)
    value = (text * (bound + over))[: bound + over]
    obj = _disclosure(**{field: [value] if field == "tax_periods" else value})
    if not over:
        event = build_event(obj)
        assert record_problems(event.to_record()) == []
        return
    with pytest.raises(EventValidationError) as refused:
        build_event(obj)
    message = str(refused.value)
    assert f"longer than {bound:,} characters" in message
    assert field in message
    assert value not in message


def test_a_3000_character_disclosure_id_is_refused_naming_the_field() -> None:
    with pytest.raises(EventValidationError, match=r"disclosure_id is longer than 200 characters"):
        build_event(_disclosure(disclosure_id="D" * 3000))
