"""The consumer contract: what a projection builder does with a slice of records, and its outboxes.

A consumer is driven by ``consumers.runner``; it writes rows through ``ledger.store`` and
queues its Kafka side effects (alerts, dead letters) in outboxes that are published just before the
offset commits, and forgotten when the slice that queued them is rolled back.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from ledger.alert_events import alert_event
from ledger.codec import EventCodec
from ledger.config import COURT_TOPIC, Topics, is_court_topic
from ledger.errors import CodecError, LedgerError
from ledger.events import COURT_EVENT_TYPES, LedgerEvent
from ledger.rules.log_findings import MALFORMED, UNAUTHORIZED
from ledger.rules.model import AlertDraft, LogScope, Severity
from ledger.store import Connection
from ledger.store.alerts import insert_new_alerts
from ledger.store.dead_letters import insert_dead_letter
from ledger.store.deliveries import hold_publishing

log = logging.getLogger(__name__)


@dataclass
class ConsumerStats:
    batches: int = 0
    messages: int = 0
    skipped: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def bump(self, key: str, n: int = 1) -> None:
        self.extra[key] = self.extra.get(key, 0) + n


MALFORMED_RULE = MALFORMED
UNAUTHORIZED_RULE = UNAUTHORIZED
_ORDINARY_SOURCE = "26 U.S.C. 6103(p)(3)(A) (a permanent, complete system of records)"


def kafka_time(record: ConsumerRecord) -> datetime:
    return datetime.fromtimestamp(record.timestamp / 1000, tz=UTC)


def malformed_alert(record: ConsumerRecord, reason: str) -> AlertDraft:
    """One alert per bad message, whichever consumers dead-letter it (the id ignores the consumer)."""
    scope = LogScope(record.topic, record.partition)
    day = kafka_time(record).date()
    where = f"{record.topic}/{record.partition}@{record.offset}"
    return AlertDraft.about(
        MALFORMED_RULE,
        Severity.WARNING,
        scope,
        day,
        str(record.offset),
        observed=1,
        evidence=[where],
        legal_source=_ORDINARY_SOURCE,
        message=f"Message {where} is not a valid ledger event and went to the dead-letter topic: {reason}",
    )


def unauthorized_alert(record: ConsumerRecord, reason: str) -> AlertDraft:
    """A decodable record its topic's writer may not have written (see docs/design.md, 'The
    topics are a trust boundary'): critical, since someone wrote where only another may."""
    scope = LogScope(record.topic, record.partition)
    where = f"{record.topic}/{record.partition}@{record.offset}"
    return AlertDraft.about(
        UNAUTHORIZED_RULE,
        Severity.CRITICAL,
        scope,
        kafka_time(record).date(),
        str(record.offset),
        observed=1,
        evidence=[where],
        legal_source=_ORDINARY_SOURCE,
        message=f"Message {where} was refused and went to the dead-letter topic: {reason}",
    )


def misplaced(topic: str, event_type: str) -> str:
    """Why an event of ``event_type`` may not come from ``topic`` ("" if it may): court events
    come only from the court topic, whose one writer is the court's principal, and that topic
    carries nothing else."""
    if event_type in COURT_EVENT_TYPES and not is_court_topic(topic):
        return f"a {event_type} is accepted only from the court topic ({COURT_TOPIC})"
    if is_court_topic(topic) and event_type not in COURT_EVENT_TYPES:
        return f"a {event_type} does not belong on the court topic"
    return ""


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


class Consumer(ABC):
    """A projection builder. ``process`` runs inside a savepoint of the batch's transaction.

    ``process`` may raise for a record it cannot apply: the runner then undoes the slice, bisects
    to the record and dead-letters it (``dead_letter``), so good records of the same batch land.
    Alerts go through ``raise_alerts`` (stored at once, published in ``before_commit``) and
    dead letters through ``dead_letter``: both queue their Kafka side in outboxes that the
    runner rewinds together with the savepoint.

    A consumer whose state spans partitions (``merged = True``) gets the records of all its
    partitions in one total order, (broker append time, partition, topic, offset), so that live
    processing and a replay from offset 0 see the same sequence and compute the same results.
    """

    name: str
    merged = False
    # Where event ids are claimed (``consumers.claims``): the runner's own autocommit connection,
    # so a claim commits at once instead of holding its rows locked until the batch commits (the
    # other consumers claim the same ids and waited for it: live, the audit log and the volume
    # consumer ran one after the other). None: claim in the batch's transaction (replay, tests).
    claims_conn: Connection | None = None

    codec: EventCodec

    def __init__(self, *, publisher: Any = None, dlq_publisher: Any = None) -> None:
        self.stats = ConsumerStats()
        self.publisher = publisher  # EventProducer on ledger.alerts, or None in replay
        self.dlq_publisher = dlq_publisher  # EventProducer on the DLQ topic, or None in replay
        self.outbox: list[AlertDraft] = []  # stored in this transaction, to publish before commit
        self.dlq_outbox: list[DeadLetter] = []
        self.event_outbox: list[LedgerEvent] = []  # other alert events (AlertResolved) to publish

    def topics(self, topics: Topics) -> tuple[str, ...]:
        """The topics this consumer reads: by default the logged ones (the agencies'
        disclosures and the court's); the runner subscribes to exactly these, live and in replay."""
        return topics.logged()

    @abstractmethod
    def process(
        self, conn: Connection, tp: TopicPartition, records: Sequence[ConsumerRecord]
    ) -> None: ...

    def raise_alerts(self, conn: Connection, drafts: Sequence[AlertDraft]) -> None:
        self.outbox.extend(insert_new_alerts(conn, drafts))

    def dead_letter(
        self, conn: Connection, rec: ConsumerRecord, reason: str, alert: AlertDraft | None = None
    ) -> None:
        """Records why ``rec`` cannot be applied, raises ``alert`` (by default
        ``malformed_event``) and queues the DLQ copy."""
        self.stats.bump("dead_letters")
        log.warning(
            "%s: dead letter %s/%s@%s: %s", self.name, rec.topic, rec.partition, rec.offset, reason
        )
        insert_dead_letter(conn, self.name, rec.topic, rec.partition, rec.offset, reason, rec.value)
        self.raise_alerts(conn, [alert or malformed_alert(rec, reason)])
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

    def refuse(self, conn: Connection, rec: ConsumerRecord, reason: str) -> None:
        """A well-formed record from a writer who may not write it: dead letter, critical alert."""
        self.stats.bump("refused")
        self.dead_letter(conn, rec, reason, unauthorized_alert(rec, reason))

    def decoded(
        self, conn: Connection, records: Sequence[ConsumerRecord]
    ) -> Iterator[tuple[ConsumerRecord, LedgerEvent]]:
        """Each record with its typed event; a record that does not decode is dead-lettered, one
        its topic's writer may not write (``misplaced``) is refused."""
        for rec in records:
            try:
                event = self.codec.decode(rec.value).event
            except CodecError as exc:
                self.dead_letter(conn, rec, exc.diagnostics())
                continue
            problem = misplaced(rec.topic, event.event_type)
            if problem:
                self.refuse(conn, rec, problem)
                continue
            yield rec, event

    def mark(self) -> tuple[int, ...]:
        return len(self.outbox), len(self.dlq_outbox), len(self.event_outbox)

    def rewind(self, mark: tuple[int, ...]) -> None:
        """The savepoint since ``mark`` was rolled back: forget what it queued and cached."""
        outbox, dlq, events = (*mark, 0, 0, 0)[:3]
        del self.outbox[outbox:]
        del self.dlq_outbox[dlq:]
        del self.event_outbox[events:]

    def before_commit(self, conn: Connection) -> None:
        """Publishes what this transaction stored (alerts, dead letters) before the offset commits.

        A crash after publishing re-publishes on redelivery (at-least-once; alert ids and
        ``dlq_source`` make repeats recognisable), never loses.
        """
        if self.dlq_publisher is not None:
            for letter in self.dlq_outbox:
                self.dlq_publisher.send_raw(letter.value, letter.key, letter.headers)
        if self.publisher is not None and (self.outbox or self.event_outbox):
            hold_publishing(conn)  # until the commit: these alerts are not visible yet
            raised = [alert_event(d, f"ledger/{self.name}") for d in self.outbox]
            self.publisher.send([*raised, *self.event_outbox])
        self.outbox = []
        self.dlq_outbox = []
        self.event_outbox = []

    def started(self, database_url: str, schema: str) -> None:
        """The runner is about to consume: start helpers that need their own connection."""

    def close(self) -> None:
        """The runner stopped: stop those helpers."""

    def after_commit(self) -> None:
        """Work that may only follow a durable commit (e.g. signing a checkpoint)."""

    def partitions_assigned(self, conn: Connection, tps: Sequence[TopicPartition]) -> None:
        """Hook to drop per-partition caches when ownership changes."""

    def idle(self, conn: Connection) -> None:
        """Called in a transaction when a poll returned nothing (e.g. sign pending checkpoints)."""
