"""`ledger replay`: rebuild every projection from offset 0 into a fresh schema and compare.

A replay has no side effects: its consumers get no publishers, so nothing goes to Kafka and no
alert is delivered; the alerts it recomputes land in its own schema for comparison.
"""

from __future__ import annotations

import os
import time
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from consumers.base import Consumer
from consumers.claims import claim_in_order
from consumers.ordering import AppendTimeMerge
from consumers.runner import apply_records
from ledger.codec import RememberingCodec
from ledger.kafka.offsets import log_end_offsets
from ledger.kafka.reader import log_reader
from ledger.ops import workers
from ledger.store.comparison import Difference, offsets_reached
from ledger.store.connection import connect
from ledger.store.migrate import migrate


@dataclass(frozen=True)
class ReplayResult:
    schema: str
    messages: int
    seconds: float
    end_offsets: dict[str, int]
    differences: list[Difference]
    # Offsets the rebuilt log found reusing an event id with other bytes (critical findings).
    reused_event_ids: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not self.differences


def rebuild(
    bootstrap: str,
    admin_url: str,
    schema: str,
    topic: str | Sequence[str],
    consumers: Sequence[Consumer],
    progress: Callable[[int], None] | None = None,
    *,
    processes: int | None = None,
) -> tuple[int, dict[TopicPartition, int]]:
    """Reads ``topic`` (or each of several) from offset 0 to its current end, feeding every
    consumer.

    Consumers keep separate tables and offsets, so each reads the log in its own worker process
    (up to ``processes``, default the number of cores), to the same end offsets. Per-partition
    consumers get each partition's batches as they come; merged consumers get the same
    (append time, partition, offset) order as live processing (AppendTimeMerge).
    """
    migrate(admin_url, schema)
    ends = {
        tp: end
        for name in ((topic,) if isinstance(topic, str) else topic)
        for tp, end in log_end_offsets(bootstrap, name).items()
    }
    processes = min(len(consumers), processes or os.cpu_count() or 1)
    if processes <= 1:
        return _read_into(bootstrap, admin_url, schema, ends, consumers, progress), ends
    calls = [
        (bootstrap, admin_url, schema, ends, [consumer], workers.report if i == 0 else None)
        for i, consumer in enumerate(consumers)
    ]  # progress counts the messages the first consumer has read
    return max(workers.in_processes(_read_into, calls, processes, progress)), ends


def _read_into(
    bootstrap: str,
    admin_url: str,
    schema: str,
    ends: dict[TopicPartition, int],
    consumers: Sequence[Consumer],
    progress: Callable[[int], None] | None,
) -> int:
    """Feeds ``consumers`` every message before ``ends``; returns how many were read."""
    kafka_consumer = log_reader(bootstrap, client_id="ledger-replay")
    conn = connect(admin_url, schema)
    # Every consumer reads in the one append-time order, the per-partition ones too (their event
    # id claims are made in that order before they apply partition by partition): an id written
    # on two partitions goes to the record appended first, as it did live.
    merges = {f.name: AppendTimeMerge() for f in consumers}
    remembering: dict[int, RememberingCodec] = {}  # one per schema registry
    for consumer in consumers:
        registry = consumer.codec.registry
        consumer.codec = remembering.setdefault(id(registry), RememberingCodec(registry))
    total = 0
    try:
        # assign + seek, never the group's offsets (kafka-python ignores auto_offset_reset once a
        # group has committed; see docs/design.md, 'Consumers and offsets').
        tps = sorted(tp for tp, end in ends.items() if end > 0)
        if not tps:
            return 0
        kafka_consumer.assign(tps)
        for tp in tps:
            kafka_consumer.seek(tp, 0)

        counted = dict.fromkeys(tps, 0)

        def done(tp: TopicPartition) -> bool:
            return bool(kafka_consumer.position(tp) >= ends[tp])

        while True:
            polled = {
                tp: [r for r in records if r.offset < ends[tp]]
                for tp, records in kafka_consumer.poll(timeout_ms=1000).items()
            }
            for consumer in consumers:
                merge = merges[consumer.name]
                merge.add(polled)
                released = merge.release(tps, done)
                for tp, offset in merge.spill().items():
                    kafka_consumer.seek(tp, offset)
                    kafka_consumer.resume(tp)  # it may have been paused as done
                if not released:
                    continue
                if consumer.merged:
                    apply_records(conn, consumer, released)
                    continue
                by_partition: dict[tuple[str, int], list[ConsumerRecord]] = {}
                for r in released:
                    by_partition.setdefault((r.topic, r.partition), []).append(r)
                if len(by_partition) > 1:
                    claim_in_order(conn, consumer.codec, released)
                for records in by_partition.values():
                    apply_records(conn, consumer, records)
            # a cut merge buffer is fetched again: count each offset once
            fetched = 0
            for tp, records in polled.items():
                if records and records[-1].offset >= counted[tp]:
                    fetched += len(records) - bisect_left(records, counted[tp], key=_offset)
                    counted[tp] = records[-1].offset + 1
            total += fetched
            if progress and fetched:
                progress(fetched)
            for tp in tps:
                if done(tp):
                    kafka_consumer.pause(tp)
            if all(done(tp) for tp in tps) and not any(
                m.buffers.get(tp) for m in merges.values() for tp in tps
            ):
                break
    finally:
        kafka_consumer.close()
        conn.close()
    return total


def _offset(record: ConsumerRecord) -> int:
    return int(record.offset)


def wait_for_live(
    admin_url: str,
    live: str,
    consumers: Sequence[str],
    ends: dict[TopicPartition, int],
    timeout: float,
) -> bool:
    """Waits until the live consumers have stored offsets at least as far as the replay read."""
    deadline = time.monotonic() + timeout
    wanted = [(tp.topic, tp.partition, end) for tp, end in ends.items()]
    while not offsets_reached(admin_url, live, consumers, wanted):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True
