"""Refused calls without a valid token, counted per (client address, accessor, status, window)
and recorded as one small access entry each when the window closes.

Every other call is recorded on its own before its answer goes out (access.py). A caller without
a valid token, though, can send as many refused calls as it likes, each of which used to become
an entry holding its parameters (17 KB each: 400 MB of append-only storage in minutes). Such a
call serves nothing, so it is counted instead: the entry says which address, how many calls,
which endpoints and in which window, never the parameters. Counts wait in memory for at most one
window (and are recorded at shutdown); a crash of the server loses at most that window's counts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import anyio.to_thread

from ledger.access_log import AccessLog
from ledger.events import LedgerAccessed

log = logging.getLogger(__name__)

UNIDENTIFIED = frozenset({"anonymous", "unknown-token"})  # accessors without a valid token
KEYS_MAX = 10_000  # counts held at once; beyond that, new addresses share one count
ACTIONS_MAX = 8  # distinct endpoints named per entry; the rest are counted together
OTHER_CLIENTS = "[other addresses: too many at once]"
OTHER_ACTIONS = "[other endpoints]"


@dataclass(frozen=True)
class Key:
    window_start: int  # Unix seconds, a multiple of the window
    client: str
    accessor: str  # "anonymous" or "unknown-token"
    status: int


@dataclass
class Tally:
    count: int = 0
    actions: Counter[str] = field(default_factory=Counter)

    def add(self, action: str, n: int = 1) -> None:
        self.count += n
        if action in self.actions or len(self.actions) < ACTIONS_MAX:
            self.actions[action] += n
        else:
            self.actions[OTHER_ACTIONS] += n


class RefusalCounter:
    """The counts of the open windows; the event loop's thread is the only one touching them."""

    def __init__(self, window: int) -> None:
        self.window = window
        self._tallies: dict[Key, Tally] = {}

    def add(self, client: str, accessor: str, status: int, action: str, now: float) -> None:
        start = int(now) - int(now) % self.window
        key = Key(start, client, accessor, status)
        if key not in self._tallies and len(self._tallies) >= KEYS_MAX:
            key = Key(start, OTHER_CLIENTS, accessor, status)
        self._tallies.setdefault(key, Tally()).add(action)

    def due(self, now: float, everything: bool = False) -> list[tuple[Key, Tally]]:
        """Removes and returns the counts of windows that have closed (all, ``everything``)."""
        done = [k for k in self._tallies if everything or k.window_start + self.window <= now]
        return [(k, self._tallies.pop(k)) for k in done]

    def put_back(self, items: list[tuple[Key, Tally]]) -> None:
        """Counts that could not be recorded wait for the next try."""
        for key, tally in items:
            held = self._tallies.setdefault(key, Tally())
            for action, n in tally.actions.items():
                held.add(action, n)

    def __len__(self) -> int:
        return len(self._tallies)


def _entry(audit: AccessLog, window: int, key: Key, tally: Tally) -> LedgerAccessed:
    started = datetime.fromtimestamp(key.window_start, UTC).isoformat()
    action = tally.actions.most_common(1)[0][0]
    query = {
        "client": key.client,
        "refused_calls": str(tally.count),
        "window_start": started,
        "window_seconds": str(window),
        "actions": ", ".join(f"{a} x{n}" for a, n in tally.actions.most_common()),
    }
    return audit.event(key.accessor, "none", action, query, 0, key.status)


async def record_due(
    counter: RefusalCounter, audit: AccessLog, now: float, everything: bool = False
) -> int:
    """Records the closed windows' counts, one entry each; those Kafka does not take wait."""
    items = counter.due(now, everything)
    for i, (key, tally) in enumerate(items):
        event = _entry(audit, counter.window, key, tally)
        try:
            await anyio.to_thread.run_sync(audit.send, event)
        except Exception:
            log.warning("could not record %d refused calls yet; trying again", tally.count)
            counter.put_back(items[i:])
            return i
    return len(items)


async def record_forever(counter: RefusalCounter, audit: AccessLog, every: float = 1.0) -> None:
    """Runs beside the server: records each window's counts once it has closed."""
    while True:
        await asyncio.sleep(every)
        if len(counter):
            try:
                await record_due(counter, audit, time.time())
            except Exception:  # the counts must keep being recorded whatever one round met
                log.exception("recording refused calls failed")
