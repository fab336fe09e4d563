"""Prior-year spikes a late, earlier-dated disclosure outgrows: resolved as the batch applies it.

Adding records to an earlier day raises the prior year of the days after it, so a spike alert
raised on one of those days may no longer hold. The volume follower shows each disclosure of a
batch to ``OutgrownSpikes`` right after adding it to the volume book; the resolutions are
recorded once the batch's own alerts are stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from ledger.rules.lifecycle import OPEN, RESOLVED
from ledger.rules.model import AlertDraft, DisclosureFacts, Scope, ScopeWindow
from ledger.rules.volume_book import PRIOR_DAYS, ScopeKey, VolumeBook, Window
from ledger.rules.volume_rules import SPIKE
from ledger.store import Connection
from ledger.store.alert_status import StatusChange, alerts_on_days


def as_scope_window(window: Window) -> ScopeWindow:
    """The rules' view of a volume book window."""
    kind, source, value = window.key
    return ScopeWindow(
        scope=Scope(kind, source, value),
        day=window.day,
        day_records=window.day_records,
        day_disclosures=window.day_disclosures,
        prior_365_records=window.prior_365_records,
        prior_365_disclosures=window.prior_365_disclosures,
        trailing_90=list(window.trailing_90),
    )


class OutgrownSpikes:
    """Open prior-year spikes on later days that a late, earlier-dated disclosure outgrows.

    Checked as each disclosure of a batch is added to the book (so the verdict is the one a
    disclosure-at-a-time consumer would reach), over the spikes stored before the batch and those
    the batch raised so far; ``changes`` are recorded after the batch's alerts are stored.
    """

    def __init__(self, conn: Connection, arrivals: dict[str, datetime]) -> None:
        self.conn = conn
        self.arrivals = arrivals  # event id -> broker time of the batch's disclosures
        self.open: dict[ScopeKey, dict[date, str]] = {}  # loaded keys: stored and raised since
        self.fresh: dict[ScopeKey, dict[date, str]] = {}  # raised in the batch, key not loaded
        self.changes: list[StatusChange] = []

    def _open(self, key: ScopeKey) -> dict[date, str]:
        if key not in self.open:
            far = date.max - timedelta(days=1)
            stored = alerts_on_days(self.conn, SPIKE, key, date.min, far, status=OPEN)
            self.open[key] = {day: s.alert_id for s, day in stored}
            self.open[key].update(self.fresh.pop(key, {}))
        return self.open[key]

    def raised(self, drafts: Iterable[AlertDraft]) -> None:
        for d in drafts:
            if d.rule == SPIKE and isinstance(d.scope, Scope):
                key = (d.scope.kind, d.scope.source, d.scope.value)
                (self.open if key in self.open else self.fresh).setdefault(key, {})[d.day] = (
                    d.alert_id
                )

    def check(self, book: VolumeBook, f: DisclosureFacts, keys: Iterable[ScopeKey]) -> None:
        for key in keys:
            if not book.has_days_after(key, f.day):
                continue  # in order (the common case): no later day's prior year changed
            open_now = self._open(key)
            for day in [d for d in open_now if f.day < d <= f.day + timedelta(days=PRIOR_DAYS)]:
                window = book.window(key, day)
                if window.day_records > window.prior_365_records:
                    continue
                reason = (
                    f"{SPIKE} no longer holds: disclosure {f.disclosure_id} (event {f.event_id})"
                    f" dated {f.day} arrived late; the 365 days before {day} now hold"
                    f" {window.prior_365_records:,} records, {window.day_records:,} on the day"
                )
                at = self.arrivals.get(f.event_id, datetime.min)
                self.changes.append(
                    StatusChange(open_now.pop(day), RESOLVED, reason, f.event_id, at)
                )
