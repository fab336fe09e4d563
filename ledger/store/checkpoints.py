"""Signed checkpoints: one row per (log, tree size), the note exactly as signed.

Every reader here returns the note as served: the log's signed note followed by the witnesses'
cosignature lines stored for it (migration 009), which note verifiers that do not know a witness
ignore.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ledger.store.connection import Connection
from ledger.store.cosignatures import SERVED_NOTE


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
        f"SELECT c.tree_size, {SERVED_NOTE} FROM checkpoints c WHERE c.log_id = %s"
        " ORDER BY c.tree_size",
        (log_id,),
    ).fetchall()
    return [StoredCheckpoint(log_id, int(size), str(note)) for size, note in rows]


def checkpoint_sizes(conn: Connection, log_id: str) -> set[int]:
    rows = conn.execute("SELECT tree_size FROM checkpoints WHERE log_id = %s", (log_id,))
    return {int(r[0]) for r in rows}


def checkpoint_at(conn: Connection, log_id: str, size: int) -> StoredCheckpoint | None:
    row = conn.execute(
        f"SELECT {SERVED_NOTE} FROM checkpoints c WHERE c.log_id = %s AND c.tree_size = %s",
        (log_id, size),
    ).fetchone()
    return None if row is None else StoredCheckpoint(log_id, size, str(row[0]))


def latest_checkpoint(conn: Connection, log_id: str, covering: int = 0) -> StoredCheckpoint | None:
    """The largest checkpoint of a log whose tree holds more than ``covering`` entries."""
    row = conn.execute(
        f"SELECT c.tree_size, {SERVED_NOTE} FROM checkpoints c"
        " WHERE c.log_id = %s AND c.tree_size > %s ORDER BY c.tree_size DESC LIMIT 1",
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
    """The newest checkpoint of each log: a walk of the primary key from one log id to the next,
    so it costs a few index probes per log however many checkpoints each has (the witnessing
    thread asks every second)."""
    rows = conn.execute(
        "WITH RECURSIVE logs(log_id) AS ("
        " (SELECT log_id FROM checkpoints ORDER BY log_id LIMIT 1)"
        " UNION ALL"
        " SELECT (SELECT k.log_id FROM checkpoints k WHERE k.log_id > logs.log_id"
        "         ORDER BY k.log_id LIMIT 1)"
        " FROM logs WHERE logs.log_id IS NOT NULL)"
        f" SELECT c.log_id, c.tree_size, {SERVED_NOTE}, c.signed_at FROM logs"
        " CROSS JOIN LATERAL (SELECT * FROM checkpoints x WHERE x.log_id = logs.log_id"
        "                     ORDER BY x.tree_size DESC LIMIT 1) c"
        " ORDER BY c.log_id"
    ).fetchall()
    return [StoredCheckpoint(str(a), int(b), str(c), d) for a, b, c, d in rows]
