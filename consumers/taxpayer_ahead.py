"""The taxpayer index's read-ahead buffer: disclosure-log entries prepared before a checkpoint
covers them. Pure, memory only.

The indexer applies entries only up to a signed checkpoint, but the audit log stores them
first. Decoding an entry and deriving its index keys is most of the work per entry and depends
on the entry alone (``Postings.prepare``), so it can be done while the index waits for the
next checkpoint; stored entries never change (append-only triggers), so what is prepared stays
right until it is applied. Per log the buffer holds one run of consecutive entries starting at
the first one the index has not applied; an entry that concerns no taxpayer holds only its
place in the run.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from consumers.taxpayer_postings import Prepared

# Bounds over every log. 20,000 entries is over ten seconds of what the audit log stores
# (bench/index_ingest.py); a checkpoint is signed every second, so more would only be held
# longer. A manifest chunk can list thousands of taxpayers, so index keys are bounded too:
# 200,000 is about 20 MB.
MAX_ENTRIES = 20_000
MAX_KEYS = 200_000


@dataclass
class _Run:
    start: int  # the first entry held: the first the index has not applied
    end: int  # the next entry to read
    items: deque[tuple[int, Prepared]] = field(default_factory=deque)  # by seq, in [start, end)


class Ahead:
    def __init__(self, max_entries: int = MAX_ENTRIES, max_keys: int = MAX_KEYS) -> None:
        self.max_entries = max_entries
        self.max_keys = max_keys
        self._runs: dict[str, _Run] = {}
        self.entries = 0  # places held, over every log
        self.keys = 0  # index keys held

    def room(self) -> int:
        """How many more entries may be held (none once the keys' bound is reached)."""
        return 0 if self.keys >= self.max_keys else max(0, self.max_entries - self.entries)

    def resume(self, log_id: str, done: int) -> int:
        """Where reading ahead in ``log_id`` goes on, the index having applied [0, done)."""
        run = self._runs.get(log_id)
        if run is None or not run.start <= done <= run.end:
            self._drop(log_id)  # not where the index stands: of no use
            return done
        self._forget(log_id, run, done)  # applied meanwhile
        return run.end

    def put(self, log_id: str, seq: int, prepared: Prepared | None) -> None:
        """Hold entry ``seq`` of a log: the one after those held (or the first)."""
        run = self._runs.setdefault(log_id, _Run(seq, seq))
        if seq != run.end:
            raise ValueError(f"Entry {seq} of {log_id} is not the next one ({run.end}).")
        run.end = seq + 1
        self.entries += 1
        if prepared is not None:
            run.items.append((seq, prepared))
            self.keys += len(prepared.keys or ())

    def take(self, log_id: str, start: int, end: int) -> tuple[list[tuple[int, Prepared]], int]:
        """The prepared entries of [start, end) of a log in order, and the seq they reach: the
        rest, up to ``end``, must be read. They leave the buffer (the index applies them)."""
        run = self._runs.get(log_id)
        if run is None or run.start != start:
            self._drop(log_id)
            return [], start
        upto = min(end, run.end)
        return self._forget(log_id, run, upto), upto

    def clear(self) -> None:
        self._runs.clear()
        self.entries = self.keys = 0

    def __len__(self) -> int:
        return self.entries

    def _forget(self, log_id: str, run: _Run, upto: int) -> list[tuple[int, Prepared]]:
        """Let go of the run's entries before ``upto``; the prepared ones among them."""
        gone: list[tuple[int, Prepared]] = []
        while run.items and run.items[0][0] < upto:
            gone.append(run.items.popleft())
        self.keys -= sum(len(p.keys or ()) for _, p in gone)
        self.entries -= max(0, upto - run.start)
        run.start = max(run.start, upto)
        if run.start >= run.end:
            del self._runs[log_id]  # nothing left: the next read starts a new run
        return gone

    def _drop(self, log_id: str) -> None:
        run = self._runs.pop(log_id, None)
        if run is not None:
            self.entries -= run.end - run.start
            self.keys -= sum(len(p.keys or ()) for _, p in run.items)
