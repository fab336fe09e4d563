"""The TIN-shape pattern, spelled for speed, finds exactly what its plain spelling finds."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from ledger.privacy import _TIN_SHAPED
from tests.unit.fuzz import fuzz_settings

# The plain spelling: nine digits not inside a longer run or dashed identifier, bare, 3-2-4 with
# any of the separators, or 2-7 with a dash or a space.
_SEP = r"[-.\s]"
PLAIN = re.compile(
    rf"(?<![\d-])(?:\d{{3}}{_SEP}\d{{2}}{_SEP}\d{{4}}|\d{{2}}[-\s]\d{{7}}|\d{{9}})(?![\d-])"
)
# Runs of digits (ASCII, full-width, Arabic-Indic) between separators of every kind and
# characters that are neither: the near misses and the shapes themselves.
DIGITS = st.text("0123456789１٣", min_size=1, max_size=10)
OTHER = st.sampled_from(["-", ".", " ", "\t", "\n", "\u3000", "a", ":", "(", "--"])
TEXTS = st.lists(st.one_of(DIGITS, OTHER), max_size=8).map("".join)


@fuzz_settings(3000)
@given(TEXTS)
def test_both_spellings_find_the_same_spans(text: str) -> None:
    assert [m.span() for m in _TIN_SHAPED.finditer(text)] == [
        m.span() for m in PLAIN.finditer(text)
    ]
    assert (_TIN_SHAPED.fullmatch(text) is None) == (PLAIN.fullmatch(text) is None)


def test_a_tin_at_the_very_start_and_after_a_dash_or_digit() -> None:
    assert _TIN_SHAPED.search("123-45-6789 at the start")
    assert _TIN_SHAPED.fullmatch("123456789")
    assert not _TIN_SHAPED.search("x-123456789")
    assert not _TIN_SHAPED.search("0123456789")
