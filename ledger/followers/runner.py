"""Runs a follower: consume a partition batch, write rows and the offset in one transaction.

Offsets live in PostgreSQL (``consumer_offsets``), never in Kafka's auto-commit: a crash replays
the batch, and the row lock on the offset filters out anything already stored, so a replay
duplicates nothing even while partition ownership is moving between processes.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import KafkaError

from ledger.alert_events import alert_event
from ledger.errors import LedgerError, ServiceError
from ledger.kafka.client import client_config
from ledger.rules.model import AlertDraft, Severity, alert_id
from ledger.store.alerts import insert_new_alerts
from ledger.store.connection import connect
from ledger.store.dead_letters import insert_dead_letter

log = logging.getLogger(__name__)


@dataclass
class FollowerStats:
    batches: int = 0
    messages: int = 0
    skipped: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def bump(self, key: str, n: int = 1) -> None:
        self.extra[key] = self.extra.get(key, 0) + n


MALFORMED_RULE = "malformed_event"
RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 30.0
_ORDINARY_SOURCE = "26 U.S.C. 6103(p)(3)(A) (a permanent, complete system of records)"


def kafka_time(record: ConsumerRecord) -> datetime:
    return datetime.fromtimestamp(record.timestamp / 1000, tz=UTC)


def malformed_alert(record: ConsumerRecord, reason: str) -> AlertDraft:
    """One alert per bad message, whichever consumers dead-letter it (the id ignores the consumer)."""
    scope = f"{record.topic}/{record.partition}"
    day = kafka_time(record).date()
    where = f"{record.topic}/{record.partition}@{record.offset}"
    return AlertDraft(
        alert_id=alert_id(MALFORMED_RULE, scope, day, str(record.offset)),
        rule=MALFORMED_RULE,
        severity=Severity.WARNING,
        scope=scope,
        day=day,
        observed=1,
        threshold=None,
        evidence=[where],
        legal_source=_ORDINARY_SOURCE,
        message=f"Message {where} is not a valid ledger event and went to the dead-letter topic: {reason}",
    )


def is_infrastructure(exc: BaseException) -> bool:
    """A failure of the database or the broker (retry later), not of the record being applied.

    SQLSTATE classes 08 (connection), 40 (rollback: deadlock, serialization), 53 (resources),
    57 (operator intervention, e.g. shutdown), 58 (system) and XX (internal) say nothing about the
    record; data (22), integrity (23) or program-limit (54) errors do, and dead-letter it.
    """
    if isinstance(exc, KafkaError | ServiceError | psycopg.InterfaceError):
        return True
    if isinstance(exc, psycopg.Error):
        state = exc.sqlstate
        return state is None or state[:2] in {"08", "40", "53", "57", "58", "XX"}
    return False


def plain_reason(exc: BaseException) -> str:
    """One storable line (no NUL, no lone surrogate) naming what went wrong."""
    if isinstance(exc, LedgerError):
        text = exc.diagnostics()
    else:
        first = (str(exc).strip().splitlines() or [""])[0]
        text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    text = text.replace("\x00", "\\0").encode("utf-8", "replace").decode("utf-8")
    return text[:500]


@dataclass(frozen=True)
class DeadLetter:
    value: bytes
    key: bytes
    headers: list[tuple[str, bytes]]


class Follower(ABC):
    """A projection builder. ``process`` runs inside a savepoint of the batch's transaction.

    ``process`` may raise for a record it cannot apply: the runner then undoes the slice, bisects
    to the record and dead-letters it (``dead_letter``), so good records of the same batch land.
    Alerts go through ``raise_alerts`` (stored at once, published in ``before_commit``) and
    dead letters through ``dead_letter``: both queue their Kafka side in outboxes that the
    runner rewinds together with the savepoint.

    A follower whose state spans partitions (``merged = True``) gets the records of all its
    partitions in one total order, (broker append time, partition, offset), so that live
    processing and a replay from offset 0 see the same sequence and compute the same results.
    """

    name: str
    merged = False

    def __init__(self, *, publisher: Any = None, dlq_publisher: Any = None) -> None:
        self.stats = FollowerStats()
        self.publisher = publisher  # EventProducer on ledger.alerts, or None in replay
        self.dlq_publisher = dlq_publisher  # EventProducer on the DLQ topic, or None in replay
        self.outbox: list[AlertDraft] = []  # stored in this transaction, to publish before commit
        self.dlq_outbox: list[DeadLetter] = []

    @abstractmethod
    def process(
        self, conn: psycopg.Connection, tp: TopicPartition, records: Sequence[ConsumerRecord]
    ) -> None: ...

    def raise_alerts(self, conn: psycopg.Connection, drafts: Sequence[AlertDraft]) -> None:
        self.outbox.extend(insert_new_alerts(conn, drafts))

    def dead_letter(self, conn: psycopg.Connection, rec: ConsumerRecord, reason: str) -> None:
        """Records why ``rec`` cannot be applied, raises ``malformed_event`` and queues the DLQ copy."""
        self.stats.bump("dead_letters")
        log.warning(
            "%s: dead letter %s/%s@%s: %s", self.name, rec.topic, rec.partition, rec.offset, reason
        )
        insert_dead_letter(conn, self.name, rec.topic, rec.partition, rec.offset, reason, rec.value)
        self.raise_alerts(conn, [malformed_alert(rec, reason)])
        if self.dlq_publisher is not None:
            self.dlq_outbox.append(
                DeadLetter(
                    rec.value or b"",
                    rec.key or b"",
                    [
                        ("dlq_reason", reason.encode("utf-8")),
                        ("dlq_source", f"{rec.topic}/{rec.partition}@{rec.offset}".encode()),
                        ("dlq_consumer", self.name.encode()),
                        *[(k, v) for k, v in (rec.headers or []) if k == "event_type"],
                    ],
                )
            )

    def mark(self) -> tuple[int, int]:
        return len(self.outbox), len(self.dlq_outbox)

    def rewind(self, mark: tuple[int, int]) -> None:
        """The savepoint since ``mark`` was rolled back: forget what it queued and cached."""
        del self.outbox[mark[0] :]
        del self.dlq_outbox[mark[1] :]

    def before_commit(self, conn: psycopg.Connection) -> None:
        """Publishes what this transaction stored (alerts, dead letters) before the offset commits.

        A crash after publishing re-publishes on redelivery (at-least-once; alert ids and
        ``dlq_source`` make repeats recognisable), never loses.
        """
        if self.dlq_publisher is not None:
            for letter in self.dlq_outbox:
                self.dlq_publisher.send_raw(letter.value, letter.key, letter.headers)
        if self.publisher is not None and self.outbox:
            self.publisher.send([alert_event(d, f"ledger/{self.name}") for d in self.outbox])
        self.outbox = []
        self.dlq_outbox = []

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


def _partition_of(record: ConsumerRecord) -> TopicPartition:
    return TopicPartition(record.topic, record.partition)


def apply_isolating(
    conn: psycopg.Connection, follower: Follower, records: Sequence[ConsumerRecord]
) -> None:
    """Applies ``records`` under a savepoint; a record the follower or the database refuses is
    found by bisection and dead-lettered, and the rest still land.

    Bisection costs about two passes over a batch with one bad record, and nothing at all for a
    clean batch (one SAVEPOINT round trip). Infrastructure failures are not the record's fault:
    they propagate, the whole transaction rolls back and the runner retries.
    """
    mark = follower.mark()
    try:
        with conn.transaction():
            follower.process(conn, _partition_of(records[0]), records)
        return
    except Exception as exc:
        if is_infrastructure(exc):
            raise
        follower.rewind(mark)
        if len(records) > 1:
            middle = len(records) // 2
            apply_isolating(conn, follower, records[:middle])
            apply_isolating(conn, follower, records[middle:])
            return
        reason = plain_reason(exc)
        if not isinstance(exc, LedgerError):
            log.error("%s could not apply one record", follower.name, exc_info=exc)
    with conn.transaction():
        follower.dead_letter(conn, records[0], reason)


def apply_records(
    conn: psycopg.Connection, follower: Follower, records: Sequence[ConsumerRecord]
) -> int:
    """One transaction: skip what is already stored, apply the rest, advance every offset.

    Records may span partitions (a merged follower's (append time, partition, offset) order);
    offset rows are locked in sorted order so two owners cannot deadlock.
    """
    tps = sorted({_partition_of(r) for r in records})
    with conn.transaction():
        next_offsets = {tp: lock_offset(conn, follower.name, tp) for tp in tps}
        fresh = [r for r in records if r.offset >= next_offsets[_partition_of(r)]]
        follower.stats.skipped += len(records) - len(fresh)
        if fresh:
            apply_isolating(conn, follower, fresh)
            follower.before_commit(conn)
            last: dict[TopicPartition, int] = {}
            for r in fresh:
                last[_partition_of(r)] = max(r.offset, last.get(_partition_of(r), -1))
            for tp, offset in sorted(last.items()):
                store_offset(conn, follower.name, tp, offset + 1)
    if fresh:
        follower.stats.batches += 1
        follower.stats.messages += len(fresh)
        follower.after_commit()
    return len(fresh)


def apply_batch(
    conn: psycopg.Connection,
    follower: Follower,
    tp: TopicPartition,
    records: Sequence[ConsumerRecord],
) -> int:
    """One partition's batch in one transaction (see ``apply_records``)."""
    return apply_records(conn, follower, records)


def apply_merged(
    conn: psycopg.Connection, follower: Follower, records: Sequence[ConsumerRecord]
) -> int:
    """Records of several partitions in one transaction and one order (see ``apply_records``)."""
    return apply_records(conn, follower, records)


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
        self.database_url = database_url
        self.schema = schema
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
        """Polls and applies until ``stop``; rides out database and broker outages.

        A record never stops the runner (``apply_isolating`` dead-letters it). An infrastructure
        failure rolls the transaction back; the runner waits (exponential backoff, capped),
        reconnects, seeks every assigned partition back to its stored offset and goes on.
        """
        self._wait_for_topic_metadata()
        self.consumer.subscribe([self.topic], listener=_SeekToStored(self))
        failures = 0
        try:
            while not self.stop.is_set():
                try:
                    if failures:
                        self._recover()
                    self._step(on_batch)
                    failures = 0
                except Exception as exc:
                    if not is_infrastructure(exc):
                        raise
                    delay = min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2**failures)
                    failures += 1
                    self.follower.stats.bump("infrastructure_retries")
                    log.warning(
                        "%s: %s; retrying in %.1f s", self.follower.name, plain_reason(exc), delay
                    )
                    self.stop.wait(delay)
        finally:
            self.close()

    def _step(self, on_batch: Callable[[int], None] | None) -> None:
        polled = self.consumer.poll(timeout_ms=500)
        if not polled:
            with self.conn.transaction():
                self.follower.idle(self.conn)
        if self.follower.merged:
            self.merge.add(polled)
            released = self.merge.release(sorted(self.consumer.assignment()), self.caught_up)
            n = apply_records(self.conn, self.follower, released) if released else 0
            if on_batch and n:
                on_batch(n)
            return
        for records in polled.values():
            n = apply_records(self.conn, self.follower, records)
            if on_batch and n:
                on_batch(n)

    def _recover(self) -> None:
        """After a rolled-back transaction: a working connection, and every partition re-read
        from its stored offset (what was polled but not committed must be fetched again)."""
        if self.conn.closed or self.conn.broken:
            with contextlib.suppress(psycopg.Error):
                self.conn.close()
            self.conn = connect(self.database_url, self.schema)
        else:
            self.conn.rollback()
        self.follower.rewind((0, 0))
        assigned = sorted(self.consumer.assignment())
        self.merge.forget(list(self.merge.buffers))
        self.seek_assigned(assigned)

    def caught_up(self, tp: TopicPartition) -> bool:
        """Everything appended so far has been fetched: later records will carry later times."""
        highwater = self.consumer.highwater(tp)
        return highwater is not None and self.consumer.position(tp) >= highwater

    def close(self) -> None:
        try:
            self.consumer.close(autocommit=False)
        finally:
            self.conn.close()
