"""Each consumer's next offset per partition, stored with the rows it covers (one transaction)."""

from __future__ import annotations

from collections.abc import Iterable

from ledger.store.connection import Connection, driver_errors


def stored_offsets(
    conn: Connection, consumer: str, partitions: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], int]:
    wanted = set(partitions)
    with driver_errors():
        rows = conn.execute(
            "SELECT topic, kafka_partition, next_offset FROM consumer_offsets WHERE consumer = %s",
            (consumer,),
        ).fetchall()
    return {(t, p): o for t, p, o in rows if (t, p) in wanted}


def lock_offset(conn: Connection, consumer: str, topic: str, partition: int) -> int:
    """Locks this partition's offset row for the transaction and returns the next offset to store."""
    conn.execute(
        "INSERT INTO consumer_offsets (consumer, topic, kafka_partition, next_offset)"
        " VALUES (%s, %s, %s, 0) ON CONFLICT DO NOTHING",
        (consumer, topic, partition),
    )
    row = conn.execute(
        "SELECT next_offset FROM consumer_offsets"
        " WHERE consumer = %s AND topic = %s AND kafka_partition = %s FOR UPDATE",
        (consumer, topic, partition),
    ).fetchone()
    assert row is not None
    return int(row[0])


def store_offset(
    conn: Connection, consumer: str, topic: str, partition: int, next_offset: int
) -> None:
    conn.execute(
        "UPDATE consumer_offsets SET next_offset = %s, updated_at = now()"
        " WHERE consumer = %s AND topic = %s AND kafka_partition = %s",
        (next_offset, consumer, topic, partition),
    )
