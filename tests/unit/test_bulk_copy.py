"""The binary COPY's uuid-from-text dumper (ledger.store.bulk): the 16 bytes uuid.UUID gives."""

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.store.bulk import _UuidFromText


@given(st.uuids())
def test_canonical_text_gives_the_uuids_bytes(value: uuid.UUID) -> None:
    dumper = _UuidFromText(str)
    assert dumper.dump(str(value)) == value.bytes
    assert dumper.dump(str(value).upper()) == value.bytes


@pytest.mark.parametrize("form", ["{%s}", "urn:uuid:%s"])
def test_other_spellings_go_through_uuid(form: str) -> None:
    value = uuid.uuid4()
    assert _UuidFromText(str).dump(form % value) == value.bytes


@pytest.mark.parametrize(
    "text", ["not-a-uuid-at-all-but-36-characters!", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"]
)
def test_a_malformed_id_is_refused_not_stored(text: str) -> None:
    with pytest.raises(ValueError, match="hexadecimal"):
        _UuidFromText(str).dump(text)
