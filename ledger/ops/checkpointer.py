"""Signed checkpoints of each log: written after batches, checked by `ledger verify`."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from ledger.config import Settings
from ledger.errors import VerificationError
from ledger.keys import generate_key_file, load_signers, load_verifiers
from ledger.local_secrets import configured_or_local
from ledger.ops.verify import Finding
from ledger.store import Connection
from ledger.store.checkpoints import checkpoints_of, insert_checkpoint
from ledger.tlog import checkpoint as tlog
from ledger.tlog.merkle import CompactRange

DEFAULT_KEY_NAME = "disclosure-ledger"


def signing_key_path(settings: Settings) -> Path:
    """LEDGER_SIGNING_KEY_FILE, or (local use only) a key generated once in the data directory."""
    return configured_or_local(
        settings.signing_key_file,
        settings.data_dir,
        "checkpoint-signing.key",
        lambda path: generate_key_file(path, DEFAULT_KEY_NAME),
    )


def origin_for(settings: Settings, log_id: str) -> str:
    """``<LEDGER_LOG_ORIGIN>/<topic>/<partition>``; log ids are already ``<topic>/<partition>``."""
    return f"{settings.log_origin}/{log_id}"


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


def checkpoint_checker(
    settings: Settings,
) -> Callable[[Connection, str, dict[int, bytes]], list[Finding]]:
    """Checks each stored checkpoint's signature and its root against the recomputed tree."""
    verifiers = load_verifiers(signing_key_path(settings))

    def check(conn: Connection, log_id: str, roots: dict[int, bytes]) -> list[Finding]:
        findings = []
        for stored in checkpoints_of(conn, log_id):
            size, note = stored.tree_size, stored.note
            try:
                cp = tlog.verify(note, verifiers, expected_origin=origin_for(settings, log_id))
            except VerificationError as exc:
                findings.append(Finding("checkpoint_signature", log_id, int(size) - 1, str(exc)))
                continue
            recomputed = roots.get(cp.size)
            if cp.size != int(size) or recomputed is None or recomputed != cp.root_hash:
                findings.append(
                    Finding(
                        "checkpoint_mismatch",
                        log_id,
                        int(size) - 1,
                        f"signed checkpoint of size {cp.size} has root {cp.root_hash.hex()} but the "
                        f"stored entries give {recomputed.hex() if recomputed else 'no tree of that size'}"
                        " (the data changed after it was signed)",
                    )
                )
        return findings

    return check
