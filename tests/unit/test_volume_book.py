"""The in-memory volume book: prior-year sums, trailing baselines, late events."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.rules.volume_book import VolumeBook

KEY = ("recipient", "IRS", "ICE")
D0 = date(2025, 8, 7)


def test_prior_sum_covers_exactly_the_365_days_before() -> None:
    book = VolumeBook()
    book.load(KEY, D0 - timedelta(days=366), 1, 1000)  # outside the window
    book.load(KEY, D0 - timedelta(days=365), 1, 10)  # first day inside
    book.load(KEY, D0 - timedelta(days=1), 1, 5)  # last day inside
    book.add(KEY, D0, 7)
    w = book.window(KEY, D0)
    assert (w.day_records, w.prior_365_records, w.prior_365_disclosures) == (7, 15, 2)
    assert w.trailing_90[-1] == 5
    assert sum(w.trailing_90) == 5


def test_a_late_event_invalidates_cached_sums_of_later_days() -> None:
    book = VolumeBook()
    book.add(KEY, D0, 100)
    assert book.window(KEY, D0).prior_365_records == 0
    book.add(KEY, D0 - timedelta(days=10), 40)
    assert book.window(KEY, D0).prior_365_records == 40
    assert book.later_days(KEY, D0 - timedelta(days=10)) == [D0]
    assert book.deltas[(KEY, D0)].records == 100


@settings(max_examples=50)
@given(st.lists(st.tuples(st.integers(-500, 500), st.integers(0, 1000)), min_size=1, max_size=60))
def test_windows_equal_a_brute_force_sum(events: list[tuple[int, int]]) -> None:
    book = VolumeBook()
    seen: list[tuple[date, int]] = []
    for offset, records in events:
        day = D0 + timedelta(days=offset)
        book.add(KEY, day, records)
        seen.append((day, records))
        w = book.window(KEY, day)
        assert w.day_records == sum(r for d, r in seen if d == day)
        assert w.prior_365_records == sum(
            r for d, r in seen if day - timedelta(days=365) <= d < day
        )
        assert sum(w.trailing_90) == sum(r for d, r in seen if day - timedelta(days=90) <= d < day)
