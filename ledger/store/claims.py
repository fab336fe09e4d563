"""Which Kafka offset owns each event id, and the offsets that reused one (see migration 010).

Every consumer claims the event ids of a slice before applying it: the first claim of an id
wins, in whichever consumer makes it, and all consumers then apply only the claiming offset's
record. A claim waits on another consumer's uncommitted claim of the same id (the primary key),
so two consumers never both believe they own it; ids are claimed in sorted order, so two
consumers claiming overlapping sets cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import psycopg


class Claim(NamedTuple):
    """Which offset holds an event id, and its bytes' SHA-256 (a tuple: one per record)."""

    event_id: str
    topic: str
    partition: int
    offset: int
    value_sha256: bytes

    @property
    def where(self) -> str:
        return f"{self.topic}/{self.partition}@{self.offset}"


def claim(conn: psycopg.Connection, claims: Sequence[Claim]) -> dict[str, Claim | None]:
    """Claims each id not claimed yet. For each id: None when the given claim holds it (new, or
    the same offset claimed it before), else the claim of the offset that holds it."""
    if not claims:
        return {}
    mine = sorted(claims, key=lambda c: c.event_id)
    rows = conn.execute(
        "WITH wanted AS (SELECT * FROM unnest(%b::uuid[], %b::text[], %b::int[], %b::bigint[],"
        "   %b::bytea[]) AS w(event_id, t, p, o, h)),"
        " added AS (INSERT INTO event_claims"
        "   (event_id, kafka_topic, kafka_partition, kafka_offset, value_sha256)"
        "   SELECT event_id, t, p, o, h FROM wanted ORDER BY event_id"
        "   ON CONFLICT (event_id) DO NOTHING RETURNING event_id)"
        " SELECT event_id::text, true, NULL, NULL, NULL, NULL FROM added UNION ALL"
        " SELECT c.event_id::text, (c.kafka_topic, c.kafka_partition, c.kafka_offset) = (w.t, w.p, w.o),"
        "   c.kafka_topic, c.kafka_partition, c.kafka_offset, c.value_sha256"
        " FROM event_claims c JOIN wanted w USING (event_id)",
        (
            [c.event_id for c in mine],
            [c.topic for c in mine],
            [c.partition for c in mine],
            [c.offset for c in mine],
            [c.value_sha256 for c in mine],
        ),
    ).fetchall()
    held = _held(rows)
    missing = [c.event_id for c in mine if c.event_id not in held]
    if missing:  # claimed by a transaction that committed after this statement's snapshot
        wanted = {c.event_id: c for c in mine}
        rows = conn.execute(
            "SELECT event_id::text, false, kafka_topic, kafka_partition, kafka_offset,"
            " value_sha256 FROM event_claims WHERE event_id = ANY(%s::uuid[])",
            (missing,),
        ).fetchall()
        for event_id, claim in _held(rows).items():
            held[event_id] = (
                None if claim is not None and claim[1:4] == wanted[event_id][1:4] else claim
            )
    return held


def _held(rows: Sequence[Any]) -> dict[str, Claim | None]:
    return {
        r[0]: None if r[1] else Claim(r[0], r[2], int(r[3]), int(r[4]), bytes(r[5])) for r in rows
    }


def record_reuse(conn: psycopg.Connection, reused: Claim, first: Claim) -> None:
    """Records an offset whose event id ``first`` had claimed (same bytes or not)."""
    conn.execute(
        "INSERT INTO reused_event_ids (kafka_topic, kafka_partition, kafka_offset, event_id,"
        " first_topic, first_partition, first_offset, same_bytes, value_sha256)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (
            reused.topic,
            reused.partition,
            reused.offset,
            reused.event_id,
            first.topic,
            first.partition,
            first.offset,
            reused.value_sha256 == first.value_sha256,
            reused.value_sha256,
        ),
    )


@dataclass(frozen=True)
class Reuse:
    """An offset that reused an event id, and the offset that owns it."""

    where: str
    event_id: str
    first: str
    same_bytes: bool


def reuses(conn: psycopg.Connection, *, same_bytes: bool | None = None) -> list[Reuse]:
    """Every recorded reuse (or only redeliveries, or only conflicts), in log order."""
    rows = conn.execute(
        "SELECT kafka_topic, kafka_partition, kafka_offset, event_id::text, first_topic,"
        " first_partition, first_offset, same_bytes FROM reused_event_ids"
        " WHERE %(same)s::boolean IS NULL OR same_bytes = %(same)s::boolean"
        " ORDER BY kafka_topic, kafka_partition, kafka_offset",
        {"same": same_bytes},
    ).fetchall()
    return [Reuse(f"{r[0]}/{r[1]}@{r[2]}", r[3], f"{r[4]}/{r[5]}@{r[6]}", bool(r[7])) for r in rows]


def reused_offsets(conn: psycopg.Connection, topic: str, partition: int) -> set[int]:
    """The offsets of a partition that reused an event id (each is a dead letter or a redelivery)."""
    rows = conn.execute(
        "SELECT kafka_offset FROM reused_event_ids WHERE kafka_topic = %s AND kafka_partition = %s",
        (topic, partition),
    ).fetchall()
    return {int(r[0]) for r in rows}


def taken(conn: psycopg.Connection, event_ids: Iterable[str]) -> dict[str, str]:
    """Where each of ``event_ids`` the ledger already holds lives (``topic/partition@offset``)."""
    ids = sorted(set(event_ids))
    if not ids:
        return {}
    rows = conn.execute(
        "SELECT event_id::text, kafka_topic, kafka_partition, kafka_offset FROM event_claims"
        " WHERE event_id = ANY(%(ids)s::uuid[])"
        " UNION SELECT event_id::text, kafka_topic, kafka_partition, kafka_offset FROM entries"
        " WHERE event_id = ANY(%(ids)s::uuid[])",
        {"ids": ids},
    ).fetchall()
    return {r[0]: f"{r[1]}/{r[2]}@{r[3]}" for r in rows}
