"""Reads and writes the hash-chained entries and the Merkle tree nodes of each log."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

import psycopg

from ledger.errors import LedgerError
from ledger.store.bulk import copy_rows
from ledger.tlog.chain import GENESIS, StoredEntry
from ledger.tlog.merkle import CompactRange, frontier_coordinates

ENTRY_COLUMNS = (
    "log_id",
    "seq",
    "kafka_topic",
    "kafka_partition",
    "kafka_offset",
    "event_id",
    "event_type",
    "occurred_at",
    "recorded_at",
    "value",
    "body",
    "leaf_hash",
    "chain_hash",
)
# The columns' types (migration 001), for the binary COPY.
ENTRY_TYPES = (
    "text",
    "int8",
    "text",
    "int4",
    "int8",
    "uuid",
    "text",
    "timestamptz",
    "timestamptz",
    "bytea",
    "text",  # body (migration 020)
    "bytea",
    "bytea",
)


def named_disclosure(alias: str = "") -> str:
    """SQL for the disclosure id an entry's body names, written as migration 020's index
    ``entries_named_disclosure`` computes it: a query must write it so for the index to serve
    it (``alias`` is the query's name for ``entries``, if any)."""
    column = f"{alias}.body" if alias else "body"
    return f"({column}::jsonb) ->> 'disclosure_id'"


class EntryConflictError(LedgerError):
    """An entry already holds an event id that another offset claimed (a broken invariant)."""


@dataclass(frozen=True)
class EntryRow:
    log_id: str
    seq: int
    kafka_topic: str
    kafka_partition: int
    kafka_offset: int
    event_id: str
    event_type: str
    occurred_at: datetime
    recorded_at: datetime
    value: bytes
    body: str  # JSON text
    leaf_hash: bytes
    chain_hash: bytes

    def as_tuple(self) -> tuple[object, ...]:
        return _ENTRY_VALUES(self)


_ENTRY_VALUES = attrgetter(*ENTRY_COLUMNS)


@dataclass(frozen=True)
class LogHead:
    size: int
    chain_hash: bytes


def log_id_for(topic: str, partition: int) -> str:
    return f"{topic}/{partition}"


def lock_log(conn: psycopg.Connection, log_id: str) -> None:
    """One writer per log at a time: the partition's owner, even while ownership moves.

    The (log_id, seq) primary key would reject a forked chain anyway; the transaction-scoped
    advisory lock makes the second writer wait and then read the new head instead of failing.
    """
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (log_id,))


def read_head(conn: psycopg.Connection, log_id: str) -> LogHead:
    row = conn.execute(
        "SELECT seq, chain_hash FROM entries WHERE log_id = %s ORDER BY seq DESC LIMIT 1",
        (log_id,),
    ).fetchone()
    if row is None:
        return LogHead(0, GENESIS)
    return LogHead(int(row[0]) + 1, bytes(row[1]))


def existing_event_ids(conn: psycopg.Connection, event_ids: Sequence[str]) -> set[str]:
    rows = conn.execute(
        "SELECT event_id::text FROM entries WHERE event_id = ANY(%s::uuid[])", (list(event_ids),)
    ).fetchall()
    return {r[0] for r in rows}


def load_compact_range(conn: psycopg.Connection, log_id: str, size: int) -> CompactRange:
    coords = frontier_coordinates(size)
    nodes: dict[tuple[int, int], bytes] = {}
    if coords:
        rows = conn.execute(
            "SELECT level, idx, hash FROM tree_nodes WHERE log_id = %s"
            " AND (level, idx) IN (SELECT * FROM unnest(%s::smallint[], %s::bigint[]))",
            (log_id, [c[0] for c in coords], [c[1] for c in coords]),
        ).fetchall()
        nodes = {(int(lv), int(ix)): bytes(h) for lv, ix, h in rows}
    return CompactRange.from_nodes(size, nodes)


def fetch_nodes(
    conn: psycopg.Connection, log_id: str, coords: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    coords = list(coords)
    if not coords:
        return {}
    rows = conn.execute(
        "SELECT level, idx, hash FROM tree_nodes WHERE log_id = %s"
        " AND (level, idx) IN (SELECT * FROM unnest(%s::smallint[], %s::bigint[]))",
        (log_id, [c[0] for c in coords], [c[1] for c in coords]),
    ).fetchall()
    return {(int(lv), int(ix)): bytes(h) for lv, ix, h in rows}


def copy_entries(conn: psycopg.Connection, rows: Sequence[EntryRow]) -> None:
    copy_rows(conn, "entries", ENTRY_COLUMNS, ENTRY_TYPES, (row.as_tuple() for row in rows))


def copy_nodes(
    conn: psycopg.Connection, log_id: str, nodes: Sequence[tuple[int, int, bytes]]
) -> None:
    copy_rows(
        conn,
        "tree_nodes",
        ("log_id", "level", "idx", "hash"),
        ("text", "int2", "int8", "bytea"),
        ((log_id, level, idx, digest) for level, idx, digest in nodes),
    )


def log_ids(conn: psycopg.Connection) -> list[str]:
    # One index probe per log (a loose scan of the primary key), not a pass over every entry.
    rows = conn.execute(
        "WITH RECURSIVE logs(log_id) AS ("
        " (SELECT log_id FROM entries ORDER BY log_id LIMIT 1)"
        " UNION ALL"
        " SELECT (SELECT e.log_id FROM entries e WHERE e.log_id > logs.log_id"
        "         ORDER BY e.log_id LIMIT 1)"
        " FROM logs WHERE logs.log_id IS NOT NULL)"
        " SELECT log_id FROM logs WHERE log_id IS NOT NULL"
    ).fetchall()
    return [r[0] for r in rows]


def log_ids_read(conn: psycopg.Connection, consumer: str) -> list[str]:
    """The log of every partition ``consumer`` has stored an offset for, entries or not."""
    rows = conn.execute(
        "SELECT topic, kafka_partition FROM consumer_offsets WHERE consumer = %s", (consumer,)
    ).fetchall()
    return [log_id_for(t, int(p)) for t, p in rows]


def iter_entries(
    conn: psycopg.Connection, log_id: str, batch: int = 20000
) -> Iterator[tuple[StoredEntry, str, int, int]]:
    """Yields (entry, topic, partition, kafka_offset) in seq order, keyset-paged.

    The next page is read in a thread while the caller works through this one (the verifier
    hashes and reads Kafka meanwhile); ``conn`` is used by that thread alone until the last
    page is in.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="entries-page") as reader:
        page = reader.submit(_entries_page, conn, log_id, -1, batch)
        while rows := page.result():
            if len(rows) == batch:
                page = reader.submit(_entries_page, conn, log_id, rows[-1][0], batch)
            else:
                page = reader.submit(list)  # the last page: nothing after it
            for seq, value, leaf, chain, topic, part, offset in rows:
                yield StoredEntry(seq, value, leaf, chain), topic, part, offset


def _entries_page(conn: psycopg.Connection, log_id: str, after: int, batch: int) -> list[Any]:
    return conn.execute(
        "SELECT seq, value, leaf_hash, chain_hash, kafka_topic, kafka_partition, kafka_offset"
        " FROM entries WHERE log_id = %s AND seq > %s ORDER BY seq LIMIT %s",
        (log_id, after, batch),
        binary=True,  # bytea as bytes on the wire: no hex text for the server to write
    ).fetchall()


@dataclass(frozen=True)
class EntryRef:
    """Where an entry sits in its log, with the bytes and leaf hash a proof needs."""

    log_id: str
    seq: int
    value: bytes
    leaf_hash: bytes


def entry_by_event_id(conn: psycopg.Connection, event_id: str) -> EntryRef | None:
    row = conn.execute(
        "SELECT log_id, seq, value, leaf_hash FROM entries WHERE event_id = %s::uuid", (event_id,)
    ).fetchone()
    if row is None:
        return None
    return EntryRef(str(row[0]), int(row[1]), bytes(row[2]), bytes(row[3]))


def entry_values(conn: psycopg.Connection, log_id: str, start: int, end: int) -> list[bytes]:
    """The message bytes of entries [start, end) of a log, in seq order (an entry bundle)."""
    rows = conn.execute(
        "SELECT value FROM entries WHERE log_id = %s AND seq >= %s AND seq < %s ORDER BY seq",
        (log_id, start, end),
    ).fetchall()
    return [bytes(r[0]) for r in rows]


def entry_values_from(
    conn: psycopg.Connection, log_id: str, start: int, limit: int
) -> list[tuple[int, bytes]]:
    """(seq, message bytes) of up to ``limit`` entries of a log from ``start``, in seq order:
    what is stored now, checkpointed or not (the taxpayer index reads ahead of checkpoints)."""
    rows = conn.execute(
        "SELECT seq, value FROM entries WHERE log_id = %s AND seq >= %s ORDER BY seq LIMIT %s",
        (log_id, start, limit),
        binary=True,
    ).fetchall()
    return [(int(seq), bytes(value)) for seq, value in rows]
