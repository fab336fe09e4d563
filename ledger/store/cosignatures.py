"""Witnesses' cosignature lines on stored checkpoints (migration 009)."""

from __future__ import annotations

from datetime import UTC, datetime

from ledger.store.connection import Connection


def insert_cosignature(
    conn: Connection,
    log_id: str,
    size: int,
    witness_name: str,
    key_id: bytes,
    timestamp: int,
    line: str,
) -> None:
    conn.execute(
        "INSERT INTO checkpoint_cosignatures"
        " (log_id, tree_size, witness_name, key_id, cosigned_at, line)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (log_id, size, witness_name, key_id, datetime.fromtimestamp(timestamp, UTC), line),
    )


def cosigned_by(conn: Connection, log_id: str, size: int) -> set[tuple[str, bytes]]:
    """(witness name, key id) of every cosignature stored on one checkpoint."""
    rows = conn.execute(
        "SELECT witness_name, key_id FROM checkpoint_cosignatures"
        " WHERE log_id = %s AND tree_size = %s",
        (log_id, size),
    ).fetchall()
    return {(str(name), bytes(kid)) for name, kid in rows}


def latest_cosigned_size(conn: Connection, log_id: str, witness_name: str, key_id: bytes) -> int:
    """The largest size this witness cosigned for the log (0 when none): its likely 'old' size."""
    row = conn.execute(
        "SELECT max(tree_size) FROM checkpoint_cosignatures"
        " WHERE log_id = %s AND witness_name = %s AND key_id = %s",
        (log_id, witness_name, key_id),
    ).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


# The note as served: the log's signed note, then every stored cosignature line, in a fixed order.
SERVED_NOTE = (
    "c.note || coalesce((SELECT string_agg(s.line, '' ORDER BY s.witness_name, s.key_id)"
    " FROM checkpoint_cosignatures s"
    " WHERE s.log_id = c.log_id AND s.tree_size = c.tree_size), '')"
)
