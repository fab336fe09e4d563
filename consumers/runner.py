"""Runs a follower: consume a partition batch, write rows and the offset in one transaction.

Offsets live in PostgreSQL (``consumer_offsets``), never in Kafka's auto-commit: a crash replays
the batch, and the row lock on the offset filters out anything already stored, so a replay
duplicates nothing even while partition ownership is moving between processes.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.consumer.subscription_state import ConsumerRebalanceListener

from ledger.errors import ServiceError
from ledger.kafka_client import client_config
from ledger.store.connection import connect

log = logging.getLogger(__name__)


@dataclass
class FollowerStats:
    batches: int = 0
    messages: int = 0
    skipped: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def bump(self, key: str, n: int = 1) -> None:
        self.extra[key] = self.extra.get(key, 0) + n


class Follower(ABC):
    """A projection builder. ``process`` runs inside the batch's transaction.

    A follower whose state spans partitions (``merged = True``) gets the records of all its
    partitions in one total order, (broker append time, partition, offset), so that live
    processing and a replay from offset 0 see the same sequence and compute the same results.
    """

    name: str
    merged = False

    def __init__(self) -> None:
        self.stats = FollowerStats()

    @abstractmethod
    def process(
        self, conn: psycopg.Connection, tp: TopicPartition, records: Sequence[ConsumerRecord]
    ) -> None: ...

    def before_commit(self, conn: psycopg.Connection) -> None:
        """Side effects that must happen before the offset is committed (publish alerts, DLQ)."""

    def after_commit(self) -> None:
        """Work that may only follow a durable commit (e.g. signing a checkpoint)."""

    def partitions_assigned(self, conn: psycopg.Connection, tps: Sequence[TopicPartition]) -> None:
        """Hook to drop per-partition caches when ownership changes."""

    def idle(self, conn: psycopg.Connection) -> None:
        """Called in a transaction when a poll returned nothing (e.g. sign pending checkpoints)."""


def stored_offsets(
    conn: psycopg.Connection, consumer: str, tps: Sequence[TopicPartition]
) -> dict[TopicPartition, int]:
    rows = conn.execute(
        "SELECT topic, kafka_partition, next_offset FROM consumer_offsets WHERE consumer = %s",
        (consumer,),
    ).fetchall()
    wanted = set(tps)
    return {TopicPartition(t, p): o for t, p, o in rows if TopicPartition(t, p) in wanted}


def lock_offset(conn: psycopg.Connection, consumer: str, tp: TopicPartition) -> int:
    """Locks this partition's offset row for the transaction and returns the next offset to store."""
    conn.execute(
        "INSERT INTO consumer_offsets (consumer, topic, kafka_partition, next_offset)"
        " VALUES (%s, %s, %s, 0) ON CONFLICT DO NOTHING",
        (consumer, tp.topic, tp.partition),
    )
    row = conn.execute(
        "SELECT next_offset FROM consumer_offsets"
        " WHERE consumer = %s AND topic = %s AND kafka_partition = %s FOR UPDATE",
        (consumer, tp.topic, tp.partition),
    ).fetchone()
    assert row is not None
    return int(row[0])


def store_offset(
    conn: psycopg.Connection, consumer: str, tp: TopicPartition, next_offset: int
) -> None:
    conn.execute(
        "UPDATE consumer_offsets SET next_offset = %s, updated_at = now()"
        " WHERE consumer = %s AND topic = %s AND kafka_partition = %s",
        (next_offset, consumer, tp.topic, tp.partition),
    )


def apply_batch(
    conn: psycopg.Connection,
    follower: Follower,
    tp: TopicPartition,
    records: Sequence[ConsumerRecord],
) -> int:
    """One transaction: skip what is already stored, process the rest, advance the offset."""
    with conn.transaction():
        next_offset = lock_offset(conn, follower.name, tp)
        fresh = [r for r in records if r.offset >= next_offset]
        follower.stats.skipped += len(records) - len(fresh)
        if fresh:
            follower.process(conn, tp, fresh)
            follower.before_commit(conn)
            store_offset(conn, follower.name, tp, fresh[-1].offset + 1)
    if fresh:
        follower.stats.batches += 1
        follower.stats.messages += len(fresh)
        follower.after_commit()
    return len(fresh)


def apply_merged(
    conn: psycopg.Connection, follower: Follower, records: Sequence[ConsumerRecord]
) -> int:
    """Like apply_batch, for records of several partitions in one transaction and one order."""
    tps = sorted({TopicPartition(r.topic, r.partition) for r in records})
    with conn.transaction():
        next_offsets = {
            tp: lock_offset(conn, follower.name, tp) for tp in tps
        }  # sorted: no deadlock
        fresh = [
            r for r in records if r.offset >= next_offsets[TopicPartition(r.topic, r.partition)]
        ]
        follower.stats.skipped += len(records) - len(fresh)
        if fresh:
            follower.process(conn, tps[0], fresh)
            follower.before_commit(conn)
            for tp in tps:
                last = max(
                    (
                        r.offset
                        for r in fresh
                        if r.partition == tp.partition and r.topic == tp.topic
                    ),
                    default=None,
                )
                if last is not None:
                    store_offset(conn, follower.name, tp, last + 1)
    if fresh:
        follower.stats.batches += 1
        follower.stats.messages += len(fresh)
        follower.after_commit()
    return len(fresh)


class AppendTimeMerge:
    """Releases buffered records of several partitions in (append time, partition, offset) order.

    Topics use LogAppendTime, so each partition's timestamps never go backwards. A record is
    released once every other assigned partition has either buffered a later record or is
    caught up with its high watermark: then no record fetched later can sort before it. This
    is what makes the order independent of how fetches happened to interleave.
    """

    def __init__(self) -> None:
        self.buffers: dict[TopicPartition, list[ConsumerRecord]] = {}

    def add(self, polled: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        for tp, records in polled.items():
            self.buffers.setdefault(tp, []).extend(records)

    def forget(self, tps: Sequence[TopicPartition]) -> None:
        for tp in tps:
            self.buffers.pop(tp, None)

    def release(
        self, assigned: Sequence[TopicPartition], caught_up: Callable[[TopicPartition], bool]
    ) -> list[ConsumerRecord]:
        bounds = []
        for tp in assigned:
            buffered = self.buffers.get(tp)
            if caught_up(tp):
                continue  # its next record will be appended after everything buffered
            if buffered:
                bounds.append(buffered[-1].timestamp)
            else:
                return []  # this partition may still hold older records: wait for its fetch
        watermark = min(bounds, default=float("inf"))
        out: list[ConsumerRecord] = []
        for tp, buffered in self.buffers.items():
            keep = [r for r in buffered if r.timestamp >= watermark]
            out.extend(r for r in buffered if r.timestamp < watermark)
            self.buffers[tp] = keep
        out.sort(key=lambda r: (r.timestamp, r.partition, r.offset))
        return out


class _SeekToStored(ConsumerRebalanceListener):
    def __init__(self, runner: FollowerRunner) -> None:
        self.runner = runner

    def on_partitions_revoked(self, revoked: Any) -> None:
        log.info("%s: partitions revoked: %s", self.runner.follower.name, sorted(revoked))
        self.runner.merge.forget(list(revoked))

    def on_partitions_assigned(self, assigned: Any) -> None:
        self.runner.seek_assigned(list(assigned))


class FollowerRunner:
    """Drives one follower in a consumer group until ``stop`` is set."""

    def __init__(
        self,
        follower: Follower,
        bootstrap: str,
        database_url: str,
        schema: str,
        topic: str,
        group_prefix: str = "",
        max_poll_records: int = 5000,
    ) -> None:
        self.follower = follower
        self.topic = topic
        self.conn = connect(database_url, schema)
        self.stop = threading.Event()
        self.merge = AppendTimeMerge()
        self.consumer = KafkaConsumer(
            **client_config(bootstrap),
            group_id=f"{group_prefix}ledger-{follower.name}",
            client_id=f"ledger-{follower.name}",
            enable_auto_commit=False,  # offsets are stored in Postgres with the rows
            auto_offset_reset="earliest",
            max_poll_records=max_poll_records,
            fetch_max_bytes=64 * 1024 * 1024,
            max_partition_fetch_bytes=8 * 1024 * 1024,
            metadata_max_age_ms=10_000,  # notice new partitions in seconds, not minutes
        )

    def seek_assigned(self, tps: list[TopicPartition]) -> None:
        # The group's Kafka-side offsets are never used: Postgres says where each partition stands.
        offsets = stored_offsets(self.conn, self.follower.name, tps)
        self.conn.rollback()
        for tp in tps:
            if tp in offsets:
                self.consumer.seek(tp, offsets[tp])
            else:
                self.consumer.seek_to_beginning(tp)
        self.follower.partitions_assigned(self.conn, tps)
        self.conn.rollback()
        log.info("%s: assigned %s", self.follower.name, sorted(tps))

    def _wait_for_topic_metadata(self, timeout: float = 30) -> None:
        """Joins the group only once this client knows the topic's partitions.

        A member that joins first is assigned nothing and, in practice, can stay idle well past
        its next metadata refresh; asking here makes the first assignment the right one.
        """
        deadline = time.monotonic() + timeout
        while not self.consumer.partitions_for_topic(self.topic):
            if time.monotonic() > deadline:
                raise ServiceError(
                    f"Kafka does not list topic {self.topic}; run `ledger up` or check the topic prefix."
                )
            time.sleep(0.2)

    def run(self, on_batch: Callable[[int], None] | None = None) -> None:
        self._wait_for_topic_metadata()
        self.consumer.subscribe([self.topic], listener=_SeekToStored(self))
        try:
            while not self.stop.is_set():
                polled = self.consumer.poll(timeout_ms=500)
                if not polled:
                    with self.conn.transaction():
                        self.follower.idle(self.conn)
                if self.follower.merged:
                    self.merge.add(polled)
                    released = self.merge.release(
                        sorted(self.consumer.assignment()), self.caught_up
                    )
                    n = apply_merged(self.conn, self.follower, released) if released else 0
                    if on_batch and n:
                        on_batch(n)
                    continue
                for tp, records in polled.items():
                    n = apply_batch(self.conn, self.follower, tp, records)
                    if on_batch and n:
                        on_batch(n)
        finally:
            self.close()

    def caught_up(self, tp: TopicPartition) -> bool:
        """Everything appended so far has been fetched: later records will carry later times."""
        highwater = self.consumer.highwater(tp)
        return highwater is not None and self.consumer.position(tp) >= highwater

    def close(self) -> None:
        try:
            self.consumer.close(autocommit=False)
        finally:
            self.conn.close()
