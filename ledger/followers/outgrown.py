"""Prior-year alerts a late, earlier-dated disclosure outgrows: resolved as the batch applies it.

Adding records to an earlier day raises the prior year of the days after it, so a spike alert
raised on one of those days may no longer hold. The volume follower shows each disclosure of a
batch to ``OutgrownSpikes`` right after adding it to the volume book; the resolutions are
recorded once the batch's own alerts are stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import lru_cache

from ledger.rules.lifecycle import OPEN, RESOLVED
from ledger.rules.model import AlertDraft, DisclosureFacts, Scope, ScopeWindow
from ledger.rules.volume_book import PRIOR_DAYS, WINDOW_DAYS, ScopeKey, Trailing, VolumeBook, Window
from ledger.rules.volume_rules import SPIKE, SUSTAINED
from ledger.store import Connection
from ledger.store.alert_status import StatusChange, alerts_on_days


def scope_window(
    window: Window, own: bool = True, sustained: Trailing | None = None
) -> ScopeWindow:
    """The rules' view of a volume book window."""
    key, day, records, disclosures, prior_records, prior_disclosures, trailing = window
    return ScopeWindow(
        _scope(key),
        day,
        records,
        disclosures,
        prior_records,
        prior_disclosures,
        trailing,
        own,
        sustained,
    )


@lru_cache(maxsize=4096)
def _scope(key: ScopeKey) -> Scope:
    return Scope(*key)  # a handful of scopes, asked for eight times a disclosure


class OutgrownSpikes:
    """Open prior-year alerts on later days that a late, earlier-dated disclosure outgrows: a
    spike whose day no longer exceeds its prior year, a sustained excess no window ending on its
    day still shows.

    Checked as each disclosure of a batch is added to the book (so the verdict is the one a
    disclosure-at-a-time consumer would reach), over the alerts stored before the batch and those
    the batch raised so far; ``changes`` are recorded after the batch's alerts are stored.
    """

    RULES = (SPIKE, SUSTAINED)
    REACH = timedelta(days=PRIOR_DAYS + max(WINDOW_DAYS))  # the later days a late one can change

    def __init__(self, conn: Connection, arrivals: dict[str, datetime]) -> None:
        self.conn = conn
        self.arrivals = arrivals  # event id -> broker time of the batch's disclosures
        # By (rule, scope): day -> alert id, for loaded scopes (stored, and raised since) ...
        self.open: dict[tuple[str, ScopeKey], dict[date, str]] = {}
        # ... and those raised in the batch on scopes not loaded yet.
        self.fresh: dict[tuple[str, ScopeKey], dict[date, str]] = {}
        self.changes: list[StatusChange] = []

    def _open(self, rule: str, key: ScopeKey) -> dict[date, str]:
        if (rule, key) not in self.open:
            far = date.max - timedelta(days=1)
            stored = alerts_on_days(self.conn, rule, key, date.min, far, status=OPEN)
            found = {day: s.alert_id for s, day in stored}
            found.update(self.fresh.pop((rule, key), {}))
            self.open[(rule, key)] = found
        return self.open[(rule, key)]

    def raised(self, drafts: Iterable[AlertDraft]) -> None:
        for d in drafts:
            if d.rule in self.RULES and isinstance(d.scope, Scope):
                at = (d.rule, (d.scope.kind, d.scope.source, d.scope.value))
                (self.open if at in self.open else self.fresh).setdefault(at, {})[d.day] = (
                    d.alert_id
                )

    def check(self, book: VolumeBook, f: DisclosureFacts, keys: Iterable[ScopeKey]) -> None:
        for key in keys:
            if not book.has_days_after(key, f.day):
                continue  # in order (the common case): no later day's prior year changed
            for rule in self.RULES:
                open_now = self._open(rule, key)
                for day in [d for d in open_now if f.day < d <= f.day + self.REACH]:
                    why = self._outgrown(book, rule, key, day)
                    if why is None:
                        continue
                    reason = (
                        f"{rule} no longer holds: disclosure {f.disclosure_id} (event"
                        f" {f.event_id}) dated {f.day} arrived late; {why}"
                    )
                    at = self.arrivals.get(f.event_id, datetime.min)
                    self.changes.append(
                        StatusChange(open_now.pop(day), RESOLVED, reason, f.event_id, at)
                    )

    @staticmethod
    def _outgrown(book: VolumeBook, rule: str, key: ScopeKey, day: date) -> str | None:
        """Why the alert of ``rule`` on ``day`` no longer holds, or None while it does."""
        if rule == SUSTAINED:
            if book.exceeding(key, day) is not None:
                return None
            return f"no trailing window ending {day} exceeds the 365 days before it any more"
        window = book.window(key, day, trailing=False)
        if window.day_records > window.prior_365_records:
            return None
        return (
            f"the 365 days before {day} now hold {window.prior_365_records:,} records,"
            f" {window.day_records:,} on the day"
        )
