"""Runs a consumer: consume a batch, write its rows and the offsets in one transaction.

Offsets live in PostgreSQL (``consumer_offsets``), never in Kafka's auto-commit: a crash replays
the batch, and the row lock on the offset filters out anything already stored, so a replay
duplicates nothing even while partition ownership is moving between processes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import KafkaError

from consumers.base import Consumer, plain_reason
from consumers.ordering import AppendTimeMerge
from ledger.errors import LedgerError, ServiceError
from ledger.kafka.client import client_config
from ledger.kafka.reader import log_reader
from ledger.store import Connection, connect, transaction
from ledger.store.connection import reopen
from ledger.store.offsets import lock_offset, store_offset, stored_offsets

log = logging.getLogger(__name__)

RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 30.0


def is_infrastructure(exc: BaseException) -> bool:
    """A failure of the database or the broker (retry later), not of the record being applied.

    ``ledger.store`` turns driver errors into ``DatabaseUnavailableError`` (a ServiceError) or
    ``DatabaseRefusedError`` (the record's fault); the producer reports an unreachable broker as
    ServiceError, and the consumer raises KafkaError.
    """
    return isinstance(exc, ServiceError | KafkaError)


def _partition_of(record: ConsumerRecord) -> TopicPartition:
    return TopicPartition(record.topic, record.partition)


def apply_isolating(
    conn: Connection, consumer: Consumer, records: Sequence[ConsumerRecord]
) -> None:
    """Applies ``records`` under a savepoint; a record the consumer or the database refuses is
    found by bisection and dead-lettered, and the rest still land.

    Bisection costs about two passes over a batch with one bad record, and nothing at all for a
    clean batch (one SAVEPOINT round trip). Infrastructure failures are not the record's fault:
    they propagate, the whole transaction rolls back and the runner retries.
    """
    mark = consumer.mark()
    try:
        with transaction(conn):
            consumer.process(conn, _partition_of(records[0]), records)
        return
    except Exception as exc:
        if is_infrastructure(exc):
            raise
        consumer.rewind(mark)
        if len(records) > 1:
            middle = len(records) // 2
            apply_isolating(conn, consumer, records[:middle])
            apply_isolating(conn, consumer, records[middle:])
            return
        reason = plain_reason(exc)
        if not isinstance(exc, LedgerError):
            log.error("%s could not apply one record", consumer.name, exc_info=exc)
    with transaction(conn):
        consumer.dead_letter(conn, records[0], reason)


def apply_records(conn: Connection, consumer: Consumer, records: Sequence[ConsumerRecord]) -> int:
    """One transaction: skip what is already stored, apply the rest, advance every offset.

    Records may span partitions (a merged consumer's (append time, partition, offset) order);
    offset rows are locked in sorted order so two owners cannot deadlock.
    """
    tps = sorted({_partition_of(r) for r in records})
    with transaction(conn):
        next_offsets = {tp: lock_offset(conn, consumer.name, tp.topic, tp.partition) for tp in tps}
        fresh = [r for r in records if r.offset >= next_offsets[_partition_of(r)]]
        consumer.stats.skipped += len(records) - len(fresh)
        if fresh:
            apply_isolating(conn, consumer, fresh)
            consumer.before_commit(conn)
            last: dict[TopicPartition, int] = {}
            for r in fresh:
                last[_partition_of(r)] = max(r.offset, last.get(_partition_of(r), -1))
            for tp, offset in sorted(last.items()):
                store_offset(conn, consumer.name, tp.topic, tp.partition, offset + 1)
    if fresh:
        consumer.stats.batches += 1
        consumer.stats.messages += len(fresh)
        consumer.after_commit()
    return len(fresh)


class _SeekToStored(ConsumerRebalanceListener):  # type: ignore[misc]  # untyped library base
    def __init__(self, runner: ConsumerRunner) -> None:
        self.runner = runner

    def on_partitions_revoked(self, revoked: Any) -> None:
        log.info("%s: partitions revoked: %s", self.runner.consumer.name, sorted(revoked))
        self.runner.merge.forget(list(revoked))

    def on_partitions_assigned(self, assigned: Any) -> None:
        self.runner.seek_assigned(list(assigned))


class ConsumerRunner:
    """Drives one consumer in a consumer group until ``stop`` is set."""

    def __init__(
        self,
        consumer: Consumer,
        bootstrap: str,
        database_url: str,
        schema: str,
        topic: str | Sequence[str],
        group_prefix: str = "",
        max_poll_records: int = 5000,
        instance_id: str | None = None,
    ) -> None:
        self.consumer = consumer
        # Several topics for a consumer of more than one writer's topic (disclosures and court):
        # a merged consumer reads all their partitions in one append-time order.
        self.topics = (topic,) if isinstance(topic, str) else tuple(topic)
        self.topic = self.topics[0]
        self.database_url = database_url
        self.schema = schema
        self.conn = connect(database_url, schema)
        self.claims_conn = connect(database_url, schema, autocommit=True)
        consumer.claims_conn = self.claims_conn
        self.stop = threading.Event()
        self.merge = AppendTimeMerge()
        self.bootstrap = bootstrap
        self.group_id = f"{group_prefix}ledger-{consumer.name}"
        # Static membership (consumers.membership): a restarted process rejoins under the
        # same id and gets its partitions back at once instead of after the session timeout.
        self.instance_id = instance_id or None
        self.kafka_consumer = log_reader(
            bootstrap,
            group_id=self.group_id,
            instance_id=self.instance_id,
            client_id=f"ledger-{consumer.name}",
            max_poll_records=max_poll_records,
        )

    def seek_assigned(self, tps: list[TopicPartition]) -> None:
        # The group's Kafka-side offsets are never used: Postgres says where each partition stands.
        offsets = stored_offsets(
            self.conn, self.consumer.name, [(t.topic, t.partition) for t in tps]
        )
        self.conn = reopen(self.conn, self.database_url, self.schema)
        for tp in tps:
            if (tp.topic, tp.partition) in offsets:
                self.kafka_consumer.seek(tp, offsets[(tp.topic, tp.partition)])
            else:
                self.kafka_consumer.seek_to_beginning(tp)
        self.consumer.partitions_assigned(self.conn, tps)
        self.conn = reopen(self.conn, self.database_url, self.schema)
        log.info("%s: assigned %s", self.consumer.name, sorted(tps))

    def _wait_for_topic_metadata(self, timeout: float = 30) -> None:
        """Joins the group only once this client knows the topic's partitions.

        A member that joins first is assigned nothing and, in practice, can stay idle well past
        its next metadata refresh; asking here makes the first assignment the right one.
        """
        deadline = time.monotonic() + timeout
        for topic in self.topics:
            while not self.kafka_consumer.partitions_for_topic(topic):
                if time.monotonic() > deadline:
                    raise ServiceError(
                        f"Kafka does not list topic {topic}; run `ledger up` or check the topic prefix."
                    )
                time.sleep(0.2)

    def run(self, on_batch: Callable[[int], None] | None = None) -> None:
        """Polls and applies until ``stop``; rides out database and broker outages.

        A record never stops the runner (``apply_isolating`` dead-letters it). An infrastructure
        failure rolls the transaction back; the runner waits (exponential backoff, capped),
        reconnects, seeks every assigned partition back to its stored offset and goes on.
        """
        self._wait_for_topic_metadata()
        self.consumer.started(self.database_url, self.schema)
        self.kafka_consumer.subscribe(list(self.topics), listener=_SeekToStored(self))
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
                    self.consumer.stats.bump("infrastructure_retries")
                    log.warning(
                        "%s: %s; retrying in %.1f s", self.consumer.name, plain_reason(exc), delay
                    )
                    self.stop.wait(delay)
        finally:
            self.close()

    def _step(self, on_batch: Callable[[int], None] | None) -> None:
        polled = self.kafka_consumer.poll(timeout_ms=500)
        if not polled:
            with transaction(self.conn):
                self.consumer.idle(self.conn)
        if self.consumer.merged:
            self.merge.add(polled)
            assigned = sorted(self.kafka_consumer.assignment())
            released = self.merge.release(assigned, self.caught_up_now(assigned))
            for tp, offset in self.merge.spill().items():
                self.kafka_consumer.seek(tp, offset)
            n = apply_records(self.conn, self.consumer, released) if released else 0
            if on_batch and n:
                on_batch(n)
            return
        for records in polled.values():
            n = apply_records(self.conn, self.consumer, records)
            if on_batch and n:
                on_batch(n)

    def _recover(self) -> None:
        """After a rolled-back transaction: a working connection, and every partition re-read
        from its stored offset (what was polled but not committed must be fetched again)."""
        self.conn = reopen(self.conn, self.database_url, self.schema)
        self.claims_conn = reopen(self.claims_conn, self.database_url, self.schema, autocommit=True)
        self.consumer.claims_conn = self.claims_conn
        self.consumer.rewind((0, 0))
        assigned = sorted(self.kafka_consumer.assignment())
        self.merge.forget(list(self.merge.buffers))
        self.seek_assigned(assigned)

    def caught_up_now(self, assigned: Sequence[TopicPartition]) -> Callable[[TopicPartition], bool]:
        """Whether a partition has been fetched up to everything appended so far (its later
        records will carry later times). The high watermark comes with each fetch response, but
        an empty partition (the court topic, mostly) may never get one: kafka-python's
        incremental fetch sessions leave unchanged partitions out of the responses, and the
        merge would wait for it forever. Its end offset is asked for instead, now, after every
        buffered record was fetched, so the answer means the same as a high watermark would."""
        unknown = [tp for tp in assigned if self.kafka_consumer.highwater(tp) is None]
        ends = dict(self.kafka_consumer.end_offsets(unknown)) if unknown else {}

        def caught_up(tp: TopicPartition) -> bool:
            highwater = self.kafka_consumer.highwater(tp)
            if highwater is None:
                highwater = ends.get(tp)
            return highwater is not None and self.kafka_consumer.position(tp) >= highwater

        return caught_up

    def close(self) -> None:
        try:
            self.consumer.close()
            self.kafka_consumer.close(autocommit=False)
        finally:
            self.conn.close()
            self.claims_conn.close()


def leave_group(bootstrap: str, group_id: str, instance_id: str, budget: float = 3.0) -> bool:
    """A clean stop hands the partitions on now: a static member never leaves by itself.

    Only a crash leaves them waiting (for this process's restart, or the session timeout).
    Best effort within ``budget`` seconds, so a stop with the brokers gone stays prompt: then
    the session timeout decides, as for a crash. False when the request may still be on its
    way: the caller must then not hand the instance id to a new member, which a late leave
    would remove.
    """

    def leave() -> None:
        from kafka.admin import KafkaAdminClient, MemberToRemove

        try:
            admin = KafkaAdminClient(**client_config(bootstrap), request_timeout_ms=2000)
        except KafkaError:
            return
        try:
            admin.remove_group_members(group_id, [MemberToRemove(group_instance_id=instance_id)])
        except KafkaError as exc:
            log.info("%s: could not leave group %s: %s", instance_id, group_id, exc)
        finally:
            admin.close()

    t = threading.Thread(target=leave, name="leave-group", daemon=True)
    t.start()
    t.join(budget)
    return not t.is_alive()
