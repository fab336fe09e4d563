"""The audit-log consumer: appends every event to its partition's hash-chained Merkle log."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import orjson
from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from consumers.base import Consumer, kafka_time
from consumers.claims import owned
from ledger.codec import EventCodec
from ledger.errors import CodecError
from ledger.events import LedgerEvent
from ledger.store import Connection
from ledger.store import entries as store
from ledger.tlog.chain import chain_hash, leaf_hash
from ledger.tlog.merkle import CompactRange

log = logging.getLogger(__name__)


def json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def render_json(record: dict[str, Any]) -> str:
    """A query-friendly rendering; never hashed (the hashes cover the exact Kafka bytes).

    orjson writes datetimes and dates as ISO 8601 itself and is several times faster than the
    standard library here, which matters: this runs once per entry.
    """
    return orjson.dumps(record, default=json_default, option=orjson.OPT_SORT_KEYS).decode()


class AuditLogConsumer(Consumer):
    """Writes ``entries`` and ``tree_nodes`` for each partition batch (COPY, one transaction).

    Messages that do not decode go to the dead-letter topic with the reason in headers and raise
    an alert; the consumer carries on. With ``side_effects`` off (replay) nothing is published.
    """

    name = "audit_log"

    def __init__(
        self,
        codec: EventCodec | None = None,
        *,
        publisher: Any = None,
        dlq_publisher: Any = None,
        checkpointer: Any = None,
    ) -> None:
        super().__init__(publisher=publisher, dlq_publisher=dlq_publisher)
        self.codec = codec or EventCodec()
        self.checkpointer = checkpointer
        # Each log's Merkle frontier after the last applied slice. Taken out while a slice works
        # on it, put back only when the slice succeeded: a rolled-back slice leaves no trace.
        self._ranges: dict[str, CompactRange] = {}
        self._touched: set[str] = set()

    def partitions_assigned(self, conn: Connection, tps: Sequence[TopicPartition]) -> None:
        self._ranges.clear()  # another owner may have appended meanwhile

    def process(
        self, conn: Connection, tp: TopicPartition, records: Sequence[ConsumerRecord]
    ) -> None:
        log_id = store.log_id_for(tp.topic, tp.partition)
        store.lock_log(conn, log_id)
        head = store.read_head(conn, log_id)
        tree = self._ranges.pop(log_id, None)
        if tree is None or tree.size != head.size:
            tree = store.load_compact_range(conn, log_id, head.size)

        decoded: list[tuple[ConsumerRecord, LedgerEvent]] = []
        malformed = []
        for rec in records:
            try:
                decoded.append((rec, self.codec.decode(rec.value).event))
            except CodecError as exc:
                malformed.append((rec, exc.diagnostics()))
        # Dead letters first, then claims, as the volume consumer does: both insert the same
        # malformed_event alerts and claims, and one order of the two cannot deadlock.
        for rec, reason in malformed:
            self.dead_letter(conn, rec, reason)
        # An id another offset holds is a recorded redelivery or a critical finding, never a
        # silent skip (consumers.claims).
        decoded = owned(self, conn, decoded)
        known = store.existing_event_ids(conn, [event.event_id for _, event in decoded])

        rows: list[store.EntryRow] = []
        nodes: list[tuple[int, int, bytes]] = []
        previous = head.chain_hash
        seq = head.size
        for rec, event in decoded:
            event_id = event.event_id
            if event_id in known:  # the claim says this offset owns it: the entry must be it
                raise store.EntryConflictError(
                    f"event id {event_id} owns {rec.topic}/{rec.partition}@{rec.offset} but an"
                    " entry at another offset holds it"
                )
            known.add(event_id)
            leaf = leaf_hash(rec.value)
            previous = chain_hash(previous, leaf)
            rows.append(
                store.EntryRow(
                    log_id=log_id,
                    seq=seq,
                    kafka_topic=rec.topic,
                    kafka_partition=rec.partition,
                    kafka_offset=rec.offset,
                    event_id=event_id,
                    event_type=event.event_type,
                    occurred_at=event.occurred_at,
                    recorded_at=kafka_time(rec),
                    value=rec.value,
                    body=render_json(event.to_record()),
                    leaf_hash=leaf,
                    chain_hash=previous,
                )
            )
            nodes.extend(tree.append(leaf))
            seq += 1
        if rows:
            store.copy_entries(conn, rows)
            store.copy_nodes(conn, log_id, nodes)
            self._touched.add(log_id)
        self._ranges[log_id] = tree

    def idle(self, conn: Connection) -> None:
        if self.checkpointer is not None:
            self.checkpointer.flush(conn)

    def before_commit(self, conn: Connection) -> None:
        super().before_commit(conn)
        if self.checkpointer is not None:
            for log_id in sorted(self._touched):
                tree = self._ranges.get(log_id)
                if tree is None:  # its last slice was rolled back: read the frontier again
                    tree = store.load_compact_range(
                        conn, log_id, store.read_head(conn, log_id).size
                    )
                    self._ranges[log_id] = tree
                self.checkpointer.maybe_checkpoint(conn, log_id, tree)
        self._touched.clear()
