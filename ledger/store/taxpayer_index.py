"""The taxpayer index's rows (migrations 016, 018): postings, disclosures' taxpayers, snapshots,
the disclosure-log checkpoints each snapshot covers, and the MPT nodes each snapshot changed.
All append-only."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.store.bulk import copy_rows
from ledger.store.connection import Connection
from ledger.tlog.mpt_nodes import ROOT_ID, NodeRecord


@dataclass(frozen=True)
class Covered:
    log_id: str
    tree_size: int
    root_hash: bytes


@dataclass(frozen=True)
class StoredSnapshot:
    seq: int
    snapshot: bytes
    leaf: bytes
    covered: tuple[Covered, ...]


def postings(conn: Connection) -> list[tuple[bytes, str, int]]:
    rows = conn.execute("SELECT index_key, log_id, seq FROM taxpayer_index_postings").fetchall()
    return [(bytes(k), str(log), int(seq)) for k, log, seq in rows]


def disclosures(conn: Connection) -> list[tuple[str, bytes]]:
    rows = conn.execute("SELECT disclosure_id, index_key FROM taxpayer_index_disclosures")
    return [(str(d), bytes(k)) for d, k in rows.fetchall()]


def insert_postings(conn: Connection, rows: Sequence[tuple[bytes, str, int]]) -> None:
    # One statement over arrays sent in binary, not a statement per row: a checkpoint's batch
    # is tens of thousands of rows, and row by row (or as array text, which psycopg quotes
    # byte by byte) they cost more than the rest of the update.
    if rows:
        keys, logs, seqs = map(list, zip(*rows, strict=True))
        conn.execute(
            "INSERT INTO taxpayer_index_postings (index_key, log_id, seq)"
            " SELECT * FROM unnest(%b::bytea[], %b::text[], %b::bigint[])"
            " ON CONFLICT DO NOTHING",
            (keys, logs, seqs),
        )


def insert_disclosures(conn: Connection, rows: Sequence[tuple[str, bytes]]) -> None:
    if rows:
        ids, keys = map(list, zip(*rows, strict=True))
        conn.execute(
            "INSERT INTO taxpayer_index_disclosures (disclosure_id, index_key)"
            " SELECT * FROM unnest(%b::text[], %b::bytea[]) ON CONFLICT DO NOTHING",
            (ids, keys),
        )


def latest_checkpoints(conn: Connection, log_prefix: str) -> list[Covered]:
    """The newest checkpoint of every log whose id starts with ``log_prefix``."""
    rows = conn.execute(
        "SELECT DISTINCT ON (log_id) log_id, tree_size, root_hash FROM checkpoints"
        " WHERE starts_with(log_id, %s) ORDER BY log_id, tree_size DESC",
        (log_prefix,),
    ).fetchall()
    return [Covered(str(log), int(size), bytes(root)) for log, size, root in rows]


def _covered(conn: Connection, seq: int) -> tuple[Covered, ...]:
    rows = conn.execute(
        "SELECT log_id, tree_size, root_hash FROM taxpayer_index_coverage"
        " WHERE snapshot_seq = %s ORDER BY log_id",
        (seq,),
    ).fetchall()
    return tuple(Covered(str(log), int(size), bytes(root)) for log, size, root in rows)


def snapshots(conn: Connection, after: int = -1) -> list[StoredSnapshot]:
    """Every snapshot after ``after``, oldest first."""
    rows = conn.execute(
        "SELECT snapshot_seq, snapshot, leaf FROM taxpayer_index_snapshots"
        " WHERE snapshot_seq > %s ORDER BY snapshot_seq",
        (after,),
    ).fetchall()
    return [
        StoredSnapshot(int(s), bytes(h), bytes(leaf), _covered(conn, int(s))) for s, h, leaf in rows
    ]


def latest_snapshot(conn: Connection) -> StoredSnapshot | None:
    row = conn.execute(
        "SELECT snapshot_seq, snapshot, leaf FROM taxpayer_index_snapshots"
        " ORDER BY snapshot_seq DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    return StoredSnapshot(int(row[0]), bytes(row[1]), bytes(row[2]), _covered(conn, int(row[0])))


def insert_snapshot(conn: Connection, snap: StoredSnapshot) -> None:
    conn.execute(
        "INSERT INTO taxpayer_index_snapshots (snapshot_seq, snapshot, leaf) VALUES (%s, %s, %s)",
        (snap.seq, snap.snapshot, snap.leaf),
    )
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO taxpayer_index_coverage (snapshot_seq, log_id, tree_size, root_hash)"
            " VALUES (%s, %s, %s, %s)",
            [(snap.seq, c.log_id, c.tree_size, c.root_hash) for c in snap.covered],
        )


def event_id_at(conn: Connection, log_id: str, seq: int) -> str:
    row = conn.execute(
        "SELECT event_id::text FROM entries WHERE log_id = %s AND seq = %s", (log_id, seq)
    ).fetchone()
    if row is None:
        raise LookupError(f"No entry {seq} in {log_id}.")
    return str(row[0])


def leaves(conn: Connection, size: int) -> list[bytes]:
    """The index log's first ``size`` leaves (snapshot leaves, in snapshot order)."""
    rows = conn.execute(
        "SELECT leaf FROM taxpayer_index_snapshots WHERE snapshot_seq < %s ORDER BY snapshot_seq",
        (size,),
    ).fetchall()
    return [bytes(r[0]) for r in rows]


def insert_checkpoint(conn: Connection, size: int, root: bytes, note: str) -> None:
    conn.execute(
        "INSERT INTO taxpayer_index_checkpoints (tree_size, root_hash, note) VALUES (%s, %s, %s)",
        (size, root, note),
    )


def latest_index_checkpoint(conn: Connection) -> tuple[int, str] | None:
    """The newest index-log checkpoint: its size and the note as served (the signed note, then
    the witnesses' cosignature lines)."""
    row = conn.execute(
        "SELECT c.tree_size, c.note || coalesce((SELECT string_agg(w.line, '' ORDER BY"
        " w.witness_name, w.key_id) FROM taxpayer_index_cosignatures w"
        " WHERE w.tree_size = c.tree_size), '')"
        " FROM taxpayer_index_checkpoints c ORDER BY c.tree_size DESC LIMIT 1"
    ).fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


def index_cosigned(conn: Connection, size: int) -> set[tuple[str, bytes]]:
    rows = conn.execute(
        "SELECT witness_name, key_id FROM taxpayer_index_cosignatures WHERE tree_size = %s",
        (size,),
    ).fetchall()
    return {(str(n), bytes(k)) for n, k in rows}


def latest_index_cosigned_size(conn: Connection, name: str, key_id: bytes) -> int:
    row = conn.execute(
        "SELECT coalesce(max(tree_size), 0) FROM taxpayer_index_cosignatures"
        " WHERE witness_name = %s AND key_id = %s",
        (name, key_id),
    ).fetchone()
    return int(row[0]) if row else 0


def insert_index_cosignature(
    conn: Connection, size: int, name: str, key_id: bytes, timestamp: int, line: str
) -> None:
    conn.execute(
        "INSERT INTO taxpayer_index_cosignatures"
        " (tree_size, witness_name, key_id, cosigned_at, line)"
        " VALUES (%s, %s, %s, to_timestamp(%s), %s) ON CONFLICT DO NOTHING",
        (size, name, key_id, timestamp, line),
    )


_NODE_COLUMNS = (
    "node_id",
    "snapshot_seq",
    "hash",
    "split",
    "left_id",
    "right_id",
    "left_hash",
    "right_hash",
    "val",
)
_NODE_TYPES = ("bytea", "int8", "bytea", "int4", "bytea", "bytea", "bytea", "bytea", "bytea")
_NODE_LIST = ", ".join(_NODE_COLUMNS)


def insert_nodes(conn: Connection, seq: int, records: Iterable[NodeRecord]) -> int:
    """The MPT nodes snapshot ``seq`` changed (migration 018), in one COPY; how many."""
    rows = [
        (r.node_id, seq, r.hash, r.split, r.left, r.right, r.left_hash, r.right_hash, r.val)
        for r in records
    ]
    copy_rows(conn, "taxpayer_index_nodes", _NODE_COLUMNS, _NODE_TYPES, rows)
    return len(rows)


def nodes_stored_at(conn: Connection, seq: int) -> bool:
    """Whether snapshot ``seq`` stored its root (every snapshot since migration 018 does)."""
    row = conn.execute(
        "SELECT 1 FROM taxpayer_index_nodes WHERE node_id = %s AND snapshot_seq = %s",
        (ROOT_ID, seq),
    ).fetchone()
    return row is not None


# mpt.bit in SQL: get_bit numbers bits from the least significant of each byte, mpt.bit from
# the most significant; past the key's end the padding is one 0x00 byte, then 0xFF bytes.
_BIT = (
    "CASE WHEN w.split < 8 * length(%(key)s::bytea)"
    " THEN get_bit(%(key)s::bytea, (w.split / 8) * 8 + 7 - w.split %% 8)"
    " WHEN w.split / 8 = length(%(key)s::bytea) THEN 0 ELSE 1 END"
)
# From the root pointer down the key's path, each node's newest row at or before the snapshot:
# one statement, one index probe per node on the path.
_PATH = f"""
WITH RECURSIVE walk AS (
    (SELECT {_NODE_LIST} FROM taxpayer_index_nodes
     WHERE node_id = %(root)s AND snapshot_seq <= %(seq)s ORDER BY snapshot_seq DESC LIMIT 1)
    UNION ALL
    SELECT c.* FROM walk w CROSS JOIN LATERAL (
        SELECT {_NODE_LIST} FROM taxpayer_index_nodes x
        WHERE x.node_id = CASE WHEN w.split IS NULL THEN w.left_id
                               WHEN {_BIT} = 1 THEN w.right_id ELSE w.left_id END
          AND x.snapshot_seq <= %(seq)s
        ORDER BY x.snapshot_seq DESC LIMIT 1
    ) c
    WHERE w.split IS NOT NULL OR (w.node_id = %(root)s AND w.left_id IS NOT NULL)
)
SELECT * FROM walk
"""


def path_records(conn: Connection, seq: int, key: bytes) -> dict[bytes, NodeRecord]:
    """The stored nodes on ``key``'s path at snapshot ``seq``, root pointer first, by name (what
    ``mpt_nodes.stored_path`` walks; a node it needs and does not find here is missing)."""
    rows = conn.execute(_PATH, {"key": key, "seq": seq, "root": ROOT_ID}).fetchall()
    return {r.node_id: r for r in map(_record, rows)}


def _record(row: tuple[Any, ...]) -> NodeRecord:
    nid, _, h, split, left, right, left_hash, right_hash, val = row
    return NodeRecord(
        bytes(nid),
        bytes(h),
        split,
        _bytes(left),
        _bytes(right),
        _bytes(left_hash),
        _bytes(right_hash),
        _bytes(val),
    )


def _bytes(value: bytes | None) -> bytes | None:
    return None if value is None else bytes(value)


def positions_of(conn: Connection, index_key: bytes) -> list[tuple[str, int]]:
    """The (log, index) postings of one index key, in Python's order (not the collation's)."""
    rows = conn.execute(
        "SELECT log_id, seq FROM taxpayer_index_postings WHERE index_key = %s", (index_key,)
    ).fetchall()
    return sorted((str(log), int(seq)) for log, seq in rows)
