"""Records a message a consumer could not apply: where it was, why, and its digest (never its bytes)."""

from __future__ import annotations

import hashlib

import psycopg


def insert_dead_letter(
    conn: psycopg.Connection,
    consumer: str,
    topic: str,
    partition: int,
    offset: int,
    reason: str,
    value: bytes | None,
) -> None:
    conn.execute(
        "INSERT INTO dead_letters (kafka_topic, kafka_partition, kafka_offset, consumer,"
        " reason, value_sha256) VALUES (%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING",
        (topic, partition, offset, consumer, reason, hashlib.sha256(value or b"").digest()),
    )


def dead_letter_offsets(
    conn: psycopg.Connection, consumer: str, topic: str, partition: int
) -> set[int]:
    """The offsets of one partition that ``consumer`` dead-lettered."""
    rows = conn.execute(
        "SELECT kafka_offset FROM dead_letters WHERE consumer = %s AND kafka_topic = %s"
        " AND kafka_partition = %s",
        (consumer, topic, partition),
    ).fetchall()
    return {int(r[0]) for r in rows}
