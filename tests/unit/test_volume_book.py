"""The in-memory volume book: prior-year sums, trailing baselines, late events."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.rules.volume_book import WINDOW_DAYS, VolumeBook

KEY = ("recipient", "IRS", "ICE")
D0 = date(2025, 8, 7)
ONE_DAY = timedelta(days=1)


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


@settings(max_examples=60)
@given(
    st.lists(st.tuples(st.integers(-60, 60), st.integers(0, 1000)), min_size=1, max_size=60),
    st.lists(st.tuples(st.integers(-80, 80), st.integers(0, 40)), min_size=1, max_size=10),
)
def test_range_sums_equal_a_brute_force_sum(
    events: list[tuple[int, int]], ranges: list[tuple[int, int]]
) -> None:
    """Prefix sums stay right whatever order events arrive in (late ones rebuild from their day)."""
    book = VolumeBook()
    seen: list[tuple[date, int]] = []
    for offset, records in events:
        day = D0 + timedelta(days=offset)
        book.add(KEY, day, records)
        seen.append((day, records))
        for start, length in ranges:
            first, last = D0 + timedelta(days=start), D0 + timedelta(days=start + length)
            inside = [r for d, r in seen if first <= d <= last]
            assert book.range_totals(KEY, first, last) == (sum(inside), len(inside))


def brute_exceeds(seen: list[tuple[date, int]], day: date) -> tuple[int, int, int] | None:
    for days in WINDOW_DAYS:
        first = day - timedelta(days=days - 1)
        records = sum(r for d, r in seen if first <= d <= day)
        prior = [r for d, r in seen if first - timedelta(days=365) <= d < first]
        if prior and records > sum(prior):
            return days, records, sum(prior)
    return None


@settings(max_examples=60)
@given(st.lists(st.tuples(st.integers(0, 420), st.integers(1, 500)), min_size=1, max_size=50))
def test_an_episode_starts_where_a_window_first_exceeds_its_prior_year(
    events: list[tuple[int, int]],
) -> None:
    book = VolumeBook()
    seen: list[tuple[date, int]] = []
    for offset, records in events:
        day = D0 + timedelta(days=offset)
        book.add(KEY, day, records)
        seen.append((day, records))
        found = book.sustained_start(KEY, day)
        expected = brute_exceeds(seen, day)
        if brute_exceeds(seen, day - timedelta(days=1)) is not None:
            expected = None
        got = None if found is None else (found.days, found.records, found.prior_records)
        assert got == expected


def test_four_days_none_over_the_prior_year_together_over_it() -> None:
    book = VolumeBook()
    # 1,200 records every 9 days until 95 days before (none in the 90-day window)
    for n in range(40):
        book.load(KEY, D0 - timedelta(days=95 + 9 * n), 1, 1200)
    starts = []
    for n, records in enumerate((12_000, 11_900, 11_800, 11_589)):
        day = D0 + timedelta(days=n)
        book.add(KEY, day, records)
        assert book.window(KEY, day).day_records < book.window(KEY, day).prior_365_records
        starts.append(book.sustained_start(KEY, day))
    assert starts[:3] == [None, None, None]
    last = starts[3]
    assert last is not None
    assert (last.days, last.records, last.prior_records) == (7, 47_289, 37_200)
    # The day after still exceeds: the same episode, no second start.
    book.add(KEY, D0 + timedelta(days=4), 1)
    assert book.sustained_start(KEY, D0 + timedelta(days=4)) is None


@settings(max_examples=80)
@given(
    st.lists(st.tuples(st.integers(0, 420), st.integers(1, 500)), min_size=1, max_size=60),
    st.lists(st.integers(0, 450), min_size=1, max_size=8),
)
def test_the_bound_that_spares_windows_never_hides_an_excess(
    events: list[tuple[int, int]], asked: list[int]
) -> None:
    """``exceeding`` skips the window sums while the records added since it last looked could
    not have used up its headroom: asked again after late and in-order events alike, it answers
    what the full sums answer."""
    book = VolumeBook()
    book.load(KEY, D0 - timedelta(days=1), 3, 200)  # a prior year, so bounds are kept
    seen: list[tuple[date, int]] = [(D0 - timedelta(days=1), 200)]
    for offset, records in events:
        book.add(KEY, D0 + timedelta(days=offset), records)
        seen.append((D0 + timedelta(days=offset), records))
        for later in asked:
            day = D0 + timedelta(days=later)
            found = book.exceeding(KEY, day)
            got = None if found is None else (found.days, found.records, found.prior_records)
            assert got == brute_exceeds(seen, day)
            starts = book.sustained_start(KEY, day) is not None
            assert starts == (got is not None and brute_exceeds(seen, day - ONE_DAY) is None)


@settings(max_examples=80)
@given(
    st.dictionaries(
        st.tuples(st.sampled_from(["ICE", "FBI", "DHS"]), st.integers(-420, 60)),
        st.tuples(st.integers(1, 5), st.integers(1, 500)),
        max_size=60,
    ),
    st.lists(st.tuples(st.integers(-30, 30), st.integers(1, 800)), max_size=20),
)
def test_a_seeded_book_answers_as_one_loaded_day_by_day(
    stored: dict[tuple[str, int], tuple[int, int]], events: list[tuple[int, int]]
) -> None:
    def key(recipient: str) -> tuple[str, str, str]:
        return ("recipient", "IRS", recipient)

    rows = [(key(r), D0 + timedelta(days=offset), d, n) for (r, offset), (d, n) in stored.items()]
    loaded, seeded = VolumeBook(), VolumeBook()
    for row in rows:
        loaded.load(*row)
    seeded.seed(iter(rows))
    for offset, records in events:
        day = D0 + timedelta(days=offset)
        for book in (loaded, seeded):
            book.add(key("ICE"), day, records)
        for recipient in ("ICE", "FBI", "DHS"):
            assert seeded.window(key(recipient), day, trailing=True) == loaded.window(
                key(recipient), day, trailing=True
            )
            assert seeded.exceeding(key(recipient), day) == loaded.exceeding(key(recipient), day)
            assert seeded.sustained_start(key(recipient), day) == loaded.sustained_start(
                key(recipient), day
            )
    assert seeded.deltas == loaded.deltas


def test_seed_only_fills_a_fresh_book() -> None:
    book = VolumeBook()
    book.add(KEY, D0, 1)
    with pytest.raises(ValueError, match="fresh book"):
        book.seed([(KEY, D0 - ONE_DAY, 1, 1)])
