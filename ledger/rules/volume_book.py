"""Daily volume per scope, held in memory for one batch: prior-year sums and trailing baselines.

Pure: the volume follower loads the rows a batch needs, feeds events in order, asks for each
scope's window as the event arrives (so a rule fires on the event that crosses the line), and
writes back ``deltas``. Sums are cached per (scope, day) and invalidated when an event lands in
the 365 days before a cached day, which keeps the common in-order case O(1) per event.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

PRIOR_DAYS = 365
TRAILING_DAYS = 90

ScopeKey = tuple[str, str, str]  # (kind, source_agency, value); value '' for the whole source


@dataclass
class DayTotals:
    disclosures: int = 0
    records: int = 0


@dataclass(frozen=True)
class Window:
    """What the rules need about one scope on one day, including the event just added."""

    key: ScopeKey
    day: date
    day_records: int
    day_disclosures: int
    prior_365_records: int
    prior_365_disclosures: int
    trailing_90: tuple[int, ...]  # oldest first: day-90 .. day-1


def scope_keys(source: str, recipient: str, authority: str) -> list[ScopeKey]:
    return [
        ("recipient", source, recipient),
        ("authority", source, authority),
        ("source", source, ""),
    ]


class VolumeBook:
    def __init__(self) -> None:
        self.days: dict[ScopeKey, dict[date, DayTotals]] = defaultdict(dict)
        self.sorted_days: dict[ScopeKey, list[date]] = defaultdict(list)
        self.deltas: dict[tuple[ScopeKey, date], DayTotals] = {}
        self._prior: dict[ScopeKey, dict[date, tuple[int, int, tuple[int, ...]]]] = defaultdict(
            dict
        )

    def load(self, key: ScopeKey, day: date, disclosures: int, records: int) -> None:
        """Seeds stored totals (before any event of this batch is added)."""
        if day not in self.days[key]:
            insort(self.sorted_days[key], day)
        self.days[key][day] = DayTotals(disclosures, records)

    def add(self, key: ScopeKey, day: date, records: int) -> None:
        if day not in self.days[key]:
            insort(self.sorted_days[key], day)
        totals = self.days[key].setdefault(day, DayTotals())
        totals.disclosures += 1
        totals.records += records
        delta = self.deltas.setdefault((key, day), DayTotals())
        delta.disclosures += 1
        delta.records += records
        cached = self._prior[key]
        stale = [d for d in cached if day < d <= day + timedelta(days=PRIOR_DAYS)]
        for d in stale:
            del cached[d]

    def _prior_sums(self, key: ScopeKey, day: date) -> tuple[int, int, tuple[int, ...]]:
        cached = self._prior[key].get(day)
        if cached is not None:
            return cached
        start = day - timedelta(days=PRIOR_DAYS)
        trailing_start = day - timedelta(days=TRAILING_DAYS)
        records = disclosures = 0
        trailing = [0] * TRAILING_DAYS
        days, by_day = self.sorted_days[key], self.days[key]
        for d in days[bisect_left(days, start) : bisect_left(days, day)]:
            totals = by_day[d]
            records += totals.records
            disclosures += totals.disclosures
            if d >= trailing_start:
                trailing[(d - trailing_start).days] = totals.records
        result = (records, disclosures, tuple(trailing))
        self._prior[key][day] = result
        return result

    def window(self, key: ScopeKey, day: date) -> Window:
        totals = self.days[key].get(day, DayTotals())
        prior_records, prior_disclosures, trailing = self._prior_sums(key, day)
        return Window(
            key, day, totals.records, totals.disclosures, prior_records, prior_disclosures, trailing
        )

    def has_days_after(self, key: ScopeKey, day: date) -> bool:
        days = self.sorted_days[key]
        return bool(days) and days[-1] > day

    def later_days(self, key: ScopeKey, day: date) -> list[date]:
        """Days with volume that a late event on ``day`` falls into the prior year of."""
        days = self.sorted_days[key]
        end = day + timedelta(days=PRIOR_DAYS)
        return days[
            bisect_left(days, day + timedelta(days=1)) : bisect_left(days, end + timedelta(days=1))
        ]

    def newly_covered_day(self, key: ScopeKey, day: date) -> date | None:
        """The one later day whose prior year had no disclosures until this (late) event on ``day``.

        Only the first day with volume after ``day`` can have had an empty prior year: every later
        one has that first day inside its own window. It qualifies when nothing else lies in its
        window before ``day``.
        """
        later = self.later_days(key, day)
        if not later:
            return None
        first = later[0]
        days = self.sorted_days[key]
        lo, hi = bisect_left(days, first - timedelta(days=PRIOR_DAYS)), bisect_left(days, day)
        return first if lo == hi else None
