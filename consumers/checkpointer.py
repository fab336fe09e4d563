"""Signs a checkpoint of each log the audit-log consumer appends to, in the batch's transaction."""

from __future__ import annotations

import time

from ledger.config import Settings
from ledger.keys import load_signers, origin_for, signing_key_path
from ledger.store import Connection
from ledger.store.checkpoints import insert_checkpoint
from ledger.tlog import checkpoint as tlog
from ledger.tlog.merkle import CompactRange


class Checkpointer:
    """Signs a checkpoint per log at most every ``interval`` seconds, plus one when idle."""

    def __init__(self, settings: Settings, interval: float = 1.0) -> None:
        self.settings = settings
        self.signers = load_signers(signing_key_path(settings))
        self.interval = interval
        self._last: dict[str, float] = {}
        self._pending: dict[str, CompactRange] = {}

    def maybe_checkpoint(self, conn: Connection, log_id: str, tree: CompactRange) -> None:
        now = time.monotonic()
        if now - self._last.get(log_id, 0.0) >= self.interval:
            self.write(conn, log_id, tree)
            self._last[log_id] = now
            self._pending.pop(log_id, None)
        else:
            self._pending[log_id] = tree.copy()

    def flush(self, conn: Connection) -> None:
        """Checkpoints logs whose latest size is not yet signed (called when the consumer idles)."""
        for log_id, tree in sorted(self._pending.items()):
            self.write(conn, log_id, tree)
            self._last[log_id] = time.monotonic()
        self._pending.clear()

    def write(self, conn: Connection, log_id: str, tree: CompactRange) -> None:
        if tree.size == 0:
            return
        cp = tlog.Checkpoint(origin_for(self.settings, log_id), tree.size, tree.root())
        note = tlog.sign(cp, self.signers)
        insert_checkpoint(conn, log_id, cp.size, cp.root_hash, note, [s.name for s in self.signers])


def checkpointer_for(settings: Settings) -> Checkpointer:
    return Checkpointer(settings)
