"""The reads the judge needs to find prior-year alerts a late, earlier-dated disclosure outgrows.

Adding records to an earlier day raises the prior year of the days after it, so a spike or
sustained alert raised on one of those days may no longer hold. The judge
(``ledger.rules.judge.outgrown``) decides that and contests it; this module only loads the open
alerts it looks at, for the scopes where the batch lands before days already stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ledger.rules.judge import OUTGROWN_REACH, OUTGROWN_RULES, OpenAlerts
from ledger.rules.lifecycle import OPEN
from ledger.rules.model import DisclosureFacts
from ledger.rules.volume_book import ScopeKey, VolumeBook
from ledger.store import Connection
from ledger.store.alert_status import alerts_on_days


def prior_year_alerts(
    conn: Connection,
    book: VolumeBook,
    facts: Sequence[DisclosureFacts],
    keys: Iterable[ScopeKey],
) -> tuple[OpenAlerts, set[str]]:
    """Spike and sustained alerts on the days after the batch's first day, for the scopes that
    hold stored days after it (in order, the common case, none: nothing is read): the open ones
    a late disclosure may contest, and the ids of those already contested or resolved."""
    found: OpenAlerts = {}
    settled: set[str] = set()
    if not facts:
        return found, settled
    first = min(f.day for f in facts)
    last = max(f.day for f in facts) + OUTGROWN_REACH
    for key in sorted(set(keys)):
        if not book.has_days_after(key, first):
            continue
        for rule in OUTGROWN_RULES:
            for s, day in alerts_on_days(conn, rule, key, first, last, status=None):
                # One already contested awaits a person: a further late one does not repeat it.
                if s.status == OPEN and not s.contested:
                    found.setdefault((rule, key), {})[day] = s.alert_id
                else:
                    settled.add(s.alert_id)
    return found, settled
