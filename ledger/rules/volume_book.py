"""Daily volume per scope, held in memory for one batch: prior-year sums and trailing baselines.

Pure: the volume consumer loads the rows a batch needs, feeds events in order, asks for each
scope's window as the event arrives (so a rule fires on the event that crosses the line), and
writes back ``deltas``. Sums are cached per (scope, day) and invalidated when an event lands in
the 365 days before a cached day, which keeps the common in-order case O(1) per event. Range
sums (the trailing windows) come from per-scope prefix sums, rebuilt only from the first day an
event changed: in order, that is the last day alone.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, NamedTuple

PRIOR_DAYS = 365
TRAILING_DAYS = 90
ONE_DAY = timedelta(days=1)
# sustained_over_prior_year's trailing windows, shortest first. 90 days catches a transfer spread
# over up to three months (a window, not a running total: it forgets what left the window, so an
# old excess does not keep firing, and it is judged on each day as it arrives).
WINDOW_DAYS = (7, 30, 90)
# How far from a batch's days the book must hold stored volume: the prior year of the longest
# window ending the day before (the episode test looks at it).
LOOKBACK_DAYS = PRIOR_DAYS + max(WINDOW_DAYS) + 1

ScopeKey = tuple[str, str, str]  # (kind, source_agency, value); value '' for the whole source


@dataclass
class DayTotals:
    disclosures: int = 0
    records: int = 0


class Window(NamedTuple):
    """What the rules need about one scope on one day, including the event just added."""

    key: ScopeKey
    day: date
    day_records: int
    day_disclosures: int
    prior_365_records: int
    prior_365_disclosures: int
    trailing_90: tuple[int, ...]  # oldest first: day-90 .. day-1


class Trailing(NamedTuple):
    """A trailing window of ``days`` ending on ``day``, against the 365 days before it."""

    days: int
    day: date
    records: int
    prior_records: int
    prior_disclosures: int

    @property
    def exceeds(self) -> bool:
        # An empty prior year is a new scope (new_recipient / new_authority), not an excess.
        return self.prior_disclosures > 0 and self.records > self.prior_records


PAIR_JOIN = " under "  # a pair scope's value: 'ICE under 6103(i)(2)'


def pair_value(recipient: str, authority: str) -> str:
    return f"{recipient}{PAIR_JOIN}{authority}"


def scope_keys(
    source: str, recipients: Sequence[str], authorities: Sequence[str]
) -> list[ScopeKey]:
    """Every scope a disclosure counts under: ``recipients`` and ``authorities`` are chains, the
    disclosure's own id first, then its parent agencies / authority families."""
    return [
        *(("recipient", source, r) for r in recipients),
        *(("authority", source, a) for a in authorities),
        ("pair", source, pair_value(recipients[0], authorities[0])),
        ("source", source, ""),
    ]


class VolumeBook:
    def __init__(self) -> None:
        self.days: dict[ScopeKey, dict[date, DayTotals]] = defaultdict(dict)
        self.sorted_days: dict[ScopeKey, list[date]] = defaultdict(list)
        self.deltas: dict[tuple[ScopeKey, date], DayTotals] = {}
        # What depends only on the days before a date (prior sums, the 90-day baseline, the day
        # before's excess), by (what, date): fixed while events arrive in order; when one lands
        # before a date something was worked out for, the entries for dates after it are dropped.
        self._before: dict[ScopeKey, dict[tuple[str, date], Any]] = defaultdict(dict)
        self._remembered_until: dict[ScopeKey, date] = {}  # the latest date in _before[key]
        # Prefix sums over sorted_days: element i+1 sums days[0..i]; valid for the first
        # _valid[key] days (a change at index i cuts it to i).
        self._cum_records: dict[ScopeKey, list[int]] = defaultdict(lambda: [0])
        self._cum_disclosures: dict[ScopeKey, list[int]] = defaultdict(lambda: [0])
        self._valid: dict[ScopeKey, int] = defaultdict(int)
        # A bound that spares working out the trailing windows (the hot path of a backlog):
        # records only ever get added, so a window's prior year never shrinks and its records
        # grow by at most what was added to the scope since. No window ending on ``day``
        # exceeds while ``_added[key]`` stays at or below ``_limit[key][day]``.
        self._added: dict[ScopeKey, int] = defaultdict(int)
        self._limit: dict[ScopeKey, dict[date, int]] = defaultdict(dict)

    def _touch(self, key: ScopeKey, day: date) -> None:
        days = self.sorted_days[key]
        if day not in self.days[key]:
            insort(days, day)
        i = len(days) - 1 if days[-1] == day else bisect_left(days, day)
        until = self._remembered_until.get(key)
        if until is not None and until > day:
            # What was worked out for dates after ``day`` counted its days without this change;
            # what depends only on days before ``day`` still holds (a backlog arrives a few days
            # out of order across partitions: dropping everything made it recompute all of it).
            memo = self._before[key]
            for stale in [k for k in memo if k[1] > day]:
                del memo[stale]
            self._remembered_until[key] = day
        if i < self._valid[key]:
            self._valid[key] = i

    def load(self, key: ScopeKey, day: date, disclosures: int, records: int) -> None:
        """Seeds stored totals (before any event of this batch is added)."""
        self._touch(key, day)
        self.days[key][day] = DayTotals(disclosures, records)

    def seed(self, rows: Iterable[tuple[ScopeKey, date, int, int]]) -> None:
        """Seeds stored totals ``(key, day, disclosures, records)`` into a fresh book, in bulk.

        ``load`` keeps the memo and prefix sums right one day at a time; a book nothing was
        added to or asked of has neither, so each scope's days are sorted once instead (loading
        was a quarter of the live volume consumer's time: a batch loads about 400 days per scope).
        """
        if self.days or self.deltas or self._remembered_until or self._valid:
            raise ValueError("seed() fills a fresh book; load() adds to one in use")
        days = self.days
        for key, day, disclosures, records in rows:
            days[key][day] = DayTotals(disclosures, records)
        for key, by_day in days.items():
            self.sorted_days[key] = sorted(by_day)

    def add(self, key: ScopeKey, day: date, records: int) -> None:
        self._touch(key, day)
        # get, then make: setdefault would build a DayTotals on every call (seven a disclosure).
        by_day = self.days[key]
        totals = by_day.get(day)
        if totals is None:
            totals = by_day[day] = DayTotals()
        totals.disclosures += 1
        totals.records += records
        self._added[key] += records
        delta = self.deltas.get((key, day))
        if delta is None:
            delta = self.deltas[(key, day)] = DayTotals()
        delta.disclosures += 1
        delta.records += records

    def _trailing_90(self, key: ScopeKey, day: date) -> tuple[int, ...]:
        memo = self._before[key]
        cached: tuple[int, ...] | None = memo.get(("trailing", day))
        if cached is not None:
            return cached
        trailing_start = day - timedelta(days=TRAILING_DAYS)
        trailing = [0] * TRAILING_DAYS
        days, by_day = self.sorted_days[key], self.days[key]
        for d in days[bisect_left(days, trailing_start) : bisect_left(days, day)]:
            trailing[(d - trailing_start).days] = by_day[d].records
        result = tuple(trailing)
        self._remember(key, "trailing", day, result)
        return result

    def _prior_year(self, key: ScopeKey, day: date) -> tuple[int, int]:
        """(records, disclosures) of the 365 days before ``day``."""
        cached: tuple[int, int] | None = self._before[key].get(("prior", day))
        if cached is None:
            cached = self.range_totals(
                key, day - timedelta(days=PRIOR_DAYS), day - timedelta(days=1)
            )
            self._remember(key, "prior", day, cached)
        return cached

    def _remember(self, key: ScopeKey, what: str, day: date, value: Any) -> None:
        self._before[key][(what, day)] = value
        until = self._remembered_until.get(key)
        if until is None or day > until:
            self._remembered_until[key] = day

    def window(self, key: ScopeKey, day: date, *, trailing: bool = True) -> Window:
        """The scope's day against its prior year; the 90-day baseline only when ``trailing``
        (the anomaly rule reads it for the disclosure's own recipient alone)."""
        totals = self.days[key].get(day, DayTotals())
        prior_records, prior_disclosures = self._prior_year(key, day)
        return Window(
            key,
            day,
            totals.records,
            totals.disclosures,
            prior_records,
            prior_disclosures,
            self._trailing_90(key, day) if trailing else (),
        )

    def _prefix(self, key: ScopeKey) -> tuple[list[int], list[int]]:
        days, valid = self.sorted_days[key], self._valid[key]
        cum_r, cum_d = self._cum_records[key], self._cum_disclosures[key]
        if valid < len(days):
            del cum_r[valid + 1 :], cum_d[valid + 1 :]
            by_day = self.days[key]
            for d in days[valid:]:
                totals = by_day[d]
                cum_r.append(cum_r[-1] + totals.records)
                cum_d.append(cum_d[-1] + totals.disclosures)
            self._valid[key] = len(days)
        return cum_r, cum_d

    def range_totals(self, key: ScopeKey, first: date, last: date) -> tuple[int, int]:
        """(records, disclosures) of the days ``first`` .. ``last``, both included."""
        days = self.sorted_days[key]
        lo, hi = bisect_left(days, first), bisect_left(days, last + timedelta(days=1))
        if hi <= lo:
            return 0, 0
        cum_r, cum_d = self._prefix(key)
        return cum_r[hi] - cum_r[lo], cum_d[hi] - cum_d[lo]

    def trailing(self, key: ScopeKey, day: date, days: int) -> Trailing:
        first = day - timedelta(days=days - 1)
        records, _ = self.range_totals(key, first, day)
        prior_records, prior_disclosures = self._prior_year(key, first)
        return Trailing(days, day, records, prior_records, prior_disclosures)

    def exceeding(self, key: ScopeKey, day: date) -> Trailing | None:
        """The shortest trailing window ending on ``day`` whose records exceed its prior year."""
        added, limits = self._added[key], self._limit[key]
        limit = limits.get(day)
        if limit is not None and added <= limit:
            return None
        bounded = True  # an empty prior year can fill with a later event: no bound then
        room = 0  # how many more records the windows take without exceeding
        for i, days in enumerate(WINDOW_DAYS):
            window = self.trailing(key, day, days)
            if window.exceeds:
                return window
            slack = window.prior_records - window.records
            room = slack if i == 0 else min(room, slack)
            bounded = bounded and window.prior_disclosures > 0
        if bounded:
            limits[day] = added + room
        return None

    def sustained_start(self, key: ScopeKey, day: date) -> Trailing | None:
        """A window ending on ``day`` that exceeds its prior year when none ending the day before
        did: the first day of an episode, so one split transfer raises one alert, not one a day."""
        window = self.exceeding(key, day)
        if window is None:
            return None
        memo = self._before[key]
        if ("excess", day) not in memo:
            self._remember(key, "excess", day, self.exceeding(key, day - timedelta(days=1)))
        return None if memo[("excess", day)] is not None else window

    def days_between(self, key: ScopeKey, first: date, last: date) -> list[date]:
        days = self.sorted_days[key]
        return days[bisect_left(days, first) : bisect_left(days, last + timedelta(days=1))]

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
        days = self.sorted_days[key]
        at = bisect_left(days, day + ONE_DAY)  # the first day after ``day`` with volume
        if at == len(days) or days[at] > day + timedelta(days=PRIOR_DAYS):
            return None
        first = days[at]
        lo, hi = bisect_left(days, first - timedelta(days=PRIOR_DAYS)), bisect_left(days, day)
        return first if lo == hi else None
