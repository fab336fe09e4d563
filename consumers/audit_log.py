"""The audit-log follower: appends every event to its partition's hash-chained Merkle log."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from consumers.runner import Follower
from ledger.alert_events import alert_event
from ledger.chain import chain_hash, leaf_hash
from ledger.codec import EventCodec
from ledger.errors import CodecError
from ledger.merkle import CompactRange
from ledger.rules.model import AlertDraft, Severity, alert_id
from ledger.store import entries as store
from ledger.store.alerts import insert_new_alerts

log = logging.getLogger(__name__)

MALFORMED_RULE = "malformed_event"


def json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def render_json(record: dict[str, Any]) -> str:
    """A query-friendly rendering; never hashed (the hashes cover the exact Kafka bytes)."""
    return json.dumps(record, default=json_default, sort_keys=True)


def kafka_time(record: ConsumerRecord) -> datetime:
    return datetime.fromtimestamp(record.timestamp / 1000, tz=UTC)


def header(record: ConsumerRecord, name: str) -> str | None:
    for key, value in record.headers or []:
        if key == name and value is not None:
            return value.decode("utf-8", "replace")
    return None


def malformed_alert(record: ConsumerRecord, reason: str) -> AlertDraft:
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
        legal_source="26 U.S.C. 6103(p)(3)(A) (a permanent, complete system of records)",
        message=f"Message {where} is not a valid ledger event and went to the dead-letter topic: {reason}",
    )


class AuditLogFollower(Follower):
    """Writes ``entries`` and ``tree_nodes`` for each partition batch (COPY, one transaction).

    Messages that do not decode go to the dead-letter topic with the reason in headers and raise
    an alert; the follower carries on. With ``side_effects`` off (replay) nothing is published.
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
        super().__init__()
        self.codec = codec or EventCodec()
        self.publisher = publisher  # EventProducer on ledger.alerts, or None in replay
        self.dlq_publisher = dlq_publisher  # EventProducer on the DLQ topic, or None in replay
        self.checkpointer = checkpointer
        self._ranges: dict[str, CompactRange] = {}
        self._pending_alerts: list[AlertDraft] = []
        self._touched: set[str] = set()

    def partitions_assigned(self, conn: psycopg.Connection, tps: Sequence[TopicPartition]) -> None:
        self._ranges.clear()  # another owner may have appended meanwhile

    def process(
        self, conn: psycopg.Connection, tp: TopicPartition, records: Sequence[ConsumerRecord]
    ) -> None:
        log_id = store.log_id_for(tp.topic, tp.partition)
        store.lock_log(conn, log_id)
        head = store.read_head(conn, log_id)
        tree = self._ranges.get(log_id)
        if tree is None or tree.size != head.size:
            tree = store.load_compact_range(conn, log_id, head.size)

        decoded = []
        malformed = []
        for rec in records:
            try:
                decoded.append((rec, self.codec.decode(rec.value)))
            except CodecError as exc:
                malformed.append((rec, exc.diagnostics()))
        known = store.existing_event_ids(conn, [str(d.record["event_id"]) for _, d in decoded])

        rows: list[store.EntryRow] = []
        nodes: list[tuple[int, int, bytes]] = []
        previous = head.chain_hash
        seq = head.size
        for rec, event in decoded:
            event_id = str(event.record["event_id"])
            if event_id in known:
                self.stats.bump("duplicate_event_ids")
                continue
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
                    occurred_at=event.record["occurred_at"],
                    recorded_at=kafka_time(rec),
                    value=rec.value,
                    body=render_json(event.record),
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
        if malformed:
            self._dead_letters(conn, malformed)

    def _dead_letters(
        self, conn: psycopg.Connection, malformed: list[tuple[ConsumerRecord, str]]
    ) -> None:
        for rec, reason in malformed:
            self.stats.bump("dead_letters")
            log.warning("dead letter %s/%s@%s: %s", rec.topic, rec.partition, rec.offset, reason)
            conn.execute(
                "INSERT INTO dead_letters (kafka_topic, kafka_partition, kafka_offset, consumer,"
                " reason, value_sha256) VALUES (%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING",
                (
                    rec.topic,
                    rec.partition,
                    rec.offset,
                    self.name,
                    reason,
                    hashlib.sha256(rec.value or b"").digest(),
                ),
            )
            if self.dlq_publisher is not None:
                # Sent before the offset commits: a crash may re-send (at-least-once), never lose.
                self.dlq_publisher.send_raw(
                    rec.value or b"",
                    rec.key or b"",
                    [
                        ("dlq_reason", reason.encode("utf-8")),
                        ("dlq_source", f"{rec.topic}/{rec.partition}@{rec.offset}".encode()),
                        ("dlq_consumer", self.name.encode()),
                        *[(k, v) for k, v in (rec.headers or []) if k == "event_type"],
                    ],
                )
            self._pending_alerts.append(malformed_alert(rec, reason))

    def idle(self, conn: psycopg.Connection) -> None:
        if self.checkpointer is not None:
            self.checkpointer.flush(conn)

    def before_commit(self, conn: psycopg.Connection) -> None:
        fresh = insert_new_alerts(conn, self._pending_alerts)
        self._pending_alerts = []
        if self.publisher is not None and fresh:
            self.publisher.send([alert_event(d, f"ledger/{self.name}") for d in fresh])
        if self.checkpointer is not None:
            for log_id in sorted(self._touched):
                self.checkpointer.maybe_checkpoint(conn, log_id, self._ranges[log_id])
        self._touched.clear()
