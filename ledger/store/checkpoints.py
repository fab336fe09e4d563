"""Signed checkpoints as stored: one row per (log, tree size), the note exactly as signed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ledger.store.connection import Connection


@dataclass(frozen=True)
class StoredCheckpoint:
    log_id: str
    tree_size: int
    note: str
    signed_at: datetime | None = None


def insert_checkpoint(
    conn: Connection, log_id: str, size: int, root: bytes, note: str, key_names: Sequence[str]
) -> None:
    conn.execute(
        "INSERT INTO checkpoints (log_id, tree_size, root_hash, note, key_names)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (log_id, tree_size) DO NOTHING",
        (log_id, size, root, note, list(key_names)),
    )


def checkpoints_of(conn: Connection, log_id: str) -> list[StoredCheckpoint]:
    """Every checkpoint of a log, smallest first."""
    rows = conn.execute(
        "SELECT tree_size, note FROM checkpoints WHERE log_id = %s ORDER BY tree_size", (log_id,)
    ).fetchall()
    return [StoredCheckpoint(log_id, int(size), str(note)) for size, note in rows]


def checkpoint_sizes(conn: Connection, log_id: str) -> set[int]:
    rows = conn.execute("SELECT tree_size FROM checkpoints WHERE log_id = %s", (log_id,))
    return {int(r[0]) for r in rows}


def checkpoint_at(conn: Connection, log_id: str, size: int) -> StoredCheckpoint | None:
    row = conn.execute(
        "SELECT note FROM checkpoints WHERE log_id = %s AND tree_size = %s", (log_id, size)
    ).fetchone()
    return None if row is None else StoredCheckpoint(log_id, size, str(row[0]))


def latest_checkpoint(conn: Connection, log_id: str, covering: int = 0) -> StoredCheckpoint | None:
    """The largest checkpoint of a log whose tree holds more than ``covering`` entries."""
    row = conn.execute(
        "SELECT tree_size, note FROM checkpoints WHERE log_id = %s AND tree_size > %s"
        " ORDER BY tree_size DESC LIMIT 1",
        (log_id, covering),
    ).fetchone()
    return None if row is None else StoredCheckpoint(log_id, int(row[0]), str(row[1]))


def recent_sizes(conn: Connection, log_id: str, limit: int = 10) -> list[int]:
    rows = conn.execute(
        "SELECT tree_size FROM checkpoints WHERE log_id = %s ORDER BY tree_size DESC LIMIT %s",
        (log_id, limit),
    )
    return [int(r[0]) for r in rows]


def latest_per_log(conn: Connection) -> list[StoredCheckpoint]:
    rows = conn.execute(
        "SELECT DISTINCT ON (log_id) log_id, tree_size, note, signed_at FROM checkpoints"
        " ORDER BY log_id, tree_size DESC"
    ).fetchall()
    return [StoredCheckpoint(str(a), int(b), str(c), d) for a, b, c, d in rows]
