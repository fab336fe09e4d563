"""Emits validated events to Kafka: acks=all, idempotent, keyed by recipient agency."""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from kafka import KafkaProducer
from kafka.errors import KafkaError
from kafka.partitioner import DefaultPartitioner
from kafka.record.default_records import DefaultRecordBatchBuilder

from ledger.codec import EventCodec
from ledger.errors import EventValidationError, ServiceError
from ledger.events import LedgerEvent, topic_for_event
from ledger.kafka.client import client_config
from ledger.kafka.topics import topic_config

log = logging.getLogger(__name__)

MAX_REQUEST_SIZE = 4 * 1024 * 1024
BATCH_SIZE = 256 * 1024
# Kafka's default message.max.bytes (and so a topic's max.message.bytes when nobody set one).
BROKER_DEFAULT_MAX_MESSAGE_BYTES = 1048588


class OversizedEventsError(EventValidationError):
    """Some events do not fit one Kafka message; nothing was sent.

    ``oversized`` holds (index in the batch, estimated message size in bytes) for each.
    """

    def __init__(self, oversized: list[tuple[int, int]], limit: int) -> None:
        self.oversized = oversized
        self.limit = limit
        super().__init__(
            f"{len(oversized)} event(s) are larger than the {limit:,} bytes one Kafka message "
            "may hold; nothing was sent."
        )


def topic_message_limit(bootstrap: str, topic: str) -> int:
    """The topic's ``max.message.bytes`` as the broker reports it, or the broker default.

    The broker refuses a record batch larger than this, so a single event above it could never
    be written: ``ledger emit`` checks every event against it before sending any.
    """
    value = topic_config(bootstrap, topic, "max.message.bytes")
    if value is None:
        log.warning("cannot read max.message.bytes of %s; assuming the default", topic)
    return int(value) if value else BROKER_DEFAULT_MAX_MESSAGE_BYTES


@dataclass(frozen=True)
class SentEvent:
    event_id: str
    event_type: str
    topic: str
    partition: int
    offset: int


class EncodedEvent(NamedTuple):
    """One event as it goes on the topic: its Avro bytes and message key, and what names it."""

    event_id: str
    event_type: str
    key: bytes
    value: bytes


def encode_event(codec: EventCodec, event: LedgerEvent) -> EncodedEvent:
    """The event's message bytes and key (the recipient agency: one agency, one partition)."""
    return EncodedEvent(
        event.event_id, event.event_type, event.key.encode("utf-8"), codec.encode(event)
    )


def message_size(value: bytes, key: bytes, headers: list[tuple[str, bytes]]) -> int:
    """Upper bound of the record batch holding just this record, as the broker measures it."""
    return int(DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers))


# What message_size adds to the key, value and header bytes, at most: the batch header (61), a
# record's overhead (21), the length varints (5 each) and the header's name. A message whose
# bytes are this far under the limit fits without the exact (slower) estimate.
_SIZE_SLACK = 256


def oversized_messages(messages: Sequence[EncodedEvent], limit: int) -> list[tuple[int, int]]:
    """(index, size) of each message larger than ``limit`` once on the wire."""
    return [
        (i, size)
        for i, m in enumerate(messages)
        if len(m.value) + len(m.key) + len(m.event_type) + _SIZE_SLACK > limit
        and (size := message_size(m.value, m.key, [("event_type", m.event_type.encode())])) > limit
    ]


# From this many events a send runs with the cyclic garbage collector paused (see gc_paused).
GC_PAUSE_FROM = 5_000


@contextlib.contextmanager
def gc_paused(pause: bool) -> Iterator[None]:
    """The cyclic garbage collector off for the duration (back as it was after).

    A large send holds every event, message and future alive until the broker acknowledged them
    all, and each full collection walks all of them again: measured, that was a quarter of the
    send's time. What the send leaves as garbage cycles (kafka-python's futures) is collected
    once it is back on.
    """
    was_on = gc.isenabled()
    if pause and was_on:
        gc.disable()
    try:
        yield
    finally:
        if pause and was_on:
            gc.enable()


class _KeyPartitioner(DefaultPartitioner):  # type: ignore[misc]
    """kafka-python's default choice (murmur2 of the key over all partitions), remembered per key.

    The default partitioner sorts the partition list and hashes the key in pure Python for every
    record (about 3 µs); an EventProducer's keys are a few agencies. ``forget`` is called at the
    start of each send, so a topic that gained partitions is seen from the next send on.
    """

    def __init__(self) -> None:
        self._chosen: dict[tuple[str, bytes], int] = {}

    def forget(self) -> None:
        self._chosen.clear()

    def partition(
        self,
        topic: str,
        key: Any,
        serialized_key: bytes | None,
        value: Any,
        serialized_value: Any,
        cluster: Any,
    ) -> int:
        if serialized_key is None:
            return int(super().partition(topic, key, None, value, serialized_value, cluster))
        chosen = self._chosen.get((topic, serialized_key))
        if chosen is None:
            chosen = super().partition(topic, key, serialized_key, value, serialized_value, cluster)
            self._chosen[(topic, serialized_key)] = chosen
        return chosen


class EventProducer:
    """Encodes events with the Avro single-object codec and sends them with acks=all.

    kafka-python (>= 2.1) runs the idempotent producer by default with acks=all; we set both
    explicitly so a change of library default cannot weaken the guarantee.
    """

    def __init__(
        self, bootstrap: str, topic: str, codec: EventCodec | None = None, **overrides: Any
    ) -> None:
        self.topic = topic
        self.codec = codec or EventCodec()
        config: dict[str, Any] = {
            **client_config(bootstrap),
            "acks": "all",
            "enable_idempotence": True,
            "linger_ms": 20,
            "batch_size": BATCH_SIZE,
            "max_request_size": MAX_REQUEST_SIZE,
            "client_id": "ledger-producer",
            "partitioner": _KeyPartitioner(),
        }
        config.update(overrides)
        chosen = config["partitioner"]  # a partitioner given in overrides is asked every time
        self._partitioner = chosen if isinstance(chosen, _KeyPartitioner) else None
        self._headers: dict[str, list[tuple[str, bytes]]] = {}
        self.max_request_size = int(config["max_request_size"])
        try:
            self._producer = KafkaProducer(**config)
        except KafkaError as exc:
            raise ServiceError(f"Cannot reach Kafka at {bootstrap}: {exc}") from exc

    def encode(self, event: LedgerEvent) -> EncodedEvent:
        return encode_event(self.codec, event)

    def send(
        self,
        events: Sequence[LedgerEvent],
        progress: Callable[[int], None] | None = None,
        *,
        max_message_bytes: int | None = None,
    ) -> list[SentEvent]:
        """Sends every event and waits until the broker acknowledged all of them.

        Every event is encoded and measured first: if any would be larger than one message may
        be (the producer's max_request_size, or ``max_message_bytes`` when smaller, e.g. the
        topic's max.message.bytes), OversizedEventsError names them and nothing is sent.
        """
        with gc_paused(len(events) >= GC_PAUSE_FROM):
            messages = [self.encode(e) for e in events]
            return self.send_encoded(messages, progress, max_message_bytes=max_message_bytes)

    def send_encoded(
        self,
        messages: Sequence[EncodedEvent],
        progress: Callable[[int], None] | None = None,
        *,
        max_message_bytes: int | None = None,
    ) -> list[SentEvent]:
        """``send`` for events already encoded (e.g. by ``encode`` in worker processes)."""
        limit = self.max_request_size
        if max_message_bytes is not None:
            limit = min(limit, max_message_bytes)
        oversized = oversized_messages(messages, limit)
        if oversized:
            raise OversizedEventsError(oversized, limit)
        with gc_paused(len(messages) >= GC_PAUSE_FROM):
            return self._send_all(messages, progress)

    def _send_all(
        self, messages: Sequence[EncodedEvent], progress: Callable[[int], None] | None
    ) -> list[SentEvent]:
        """Sends runs of consecutive messages bound for one topic (court events go to the court
        topic), each acknowledged before the next, so the log keeps the order they were given."""
        if self._partitioner is not None:
            self._partitioner.forget()
        sent: list[SentEvent] = []
        start = 0
        while start < len(messages):
            topic = topic_for_event(self.topic, messages[start].event_type)
            end = start + 1
            while end < len(messages) and (
                topic_for_event(self.topic, messages[end].event_type) == topic
            ):
                end += 1
            if start:
                time.sleep(0.002)  # the broker's append time (ms) of the next run is later
            sent.extend(self._send_run(topic, messages, start, end, progress))
            start = end
        return sent

    def _send_run(
        self,
        topic: str,
        messages: Sequence[EncodedEvent],
        start: int,
        end: int,
        progress: Callable[[int], None] | None,
    ) -> list[SentEvent]:
        send, headers_of = self._producer.send, self._headers_of
        run = messages[start:end] if start or end < len(messages) else messages
        futures = [
            send(topic, value=m.value, key=m.key, headers=headers_of(m.event_type)) for m in run
        ]
        self._producer.flush()
        sent = []
        for i, (m, future) in enumerate(zip(run, futures, strict=True), start):
            # flush() returns once every batch is done; get() (a timer per call) only if not.
            if not future.is_done or future.exception is not None:
                try:
                    future.get(timeout=30)
                except KafkaError as exc:
                    raise ServiceError(
                        f"Kafka did not acknowledge event {m.event_id} "
                        f"({i} of {len(messages)} were acknowledged before it): {exc}"
                    ) from exc
            meta = future.value
            sent.append(
                SentEvent(m.event_id, m.event_type, meta.topic, meta.partition, meta.offset)
            )
            if progress:
                progress(1)
        return sent

    def _headers_of(self, event_type: str) -> list[tuple[str, bytes]]:
        # One list per type, shared by its records: kafka-python reads headers, never changes them.
        headers = self._headers.get(event_type)
        if headers is None:
            headers = self._headers[event_type] = [("event_type", event_type.encode("ascii"))]
        return headers

    def send_each(self, messages: Sequence[EncodedEvent]) -> list[SentEvent | KafkaError]:
        """Sends every message and waits; per message, where it landed or why it did not.

        For a resumable send (``ledger emit`` of a large file): the caller learns exactly which
        messages the broker acknowledged, instead of only the first that it did not.
        """
        if self._partitioner is not None:
            self._partitioner.forget()
        send, headers_of = self._producer.send, self._headers_of
        futures = []
        previous = None
        for m in messages:
            topic = topic_for_event(self.topic, m.event_type)  # court events: the court topic
            if previous is not None and topic != previous:
                # Each run acknowledged before the next, with a later append time, as in send.
                self._producer.flush()
                time.sleep(0.002)
            futures.append(send(topic, value=m.value, key=m.key, headers=headers_of(m.event_type)))
            previous = topic
        self._producer.flush()
        results: list[SentEvent | KafkaError] = []
        for m, future in zip(messages, futures, strict=True):
            try:
                meta = future.get(timeout=30) if not future.is_done else future.value
                if future.exception is not None:
                    raise future.exception
            except KafkaError as exc:
                results.append(exc)
                continue
            results.append(
                SentEvent(m.event_id, m.event_type, meta.topic, meta.partition, meta.offset)
            )
        return results

    def send_raw(self, value: bytes, key: bytes, headers: list[tuple[str, bytes]]) -> None:
        """Sends bytes as they are (for tests of the dead-letter path and for tooling)."""
        self._producer.send(self.topic, value=value, key=key, headers=headers).get(timeout=30)

    def close(self) -> None:
        self._producer.close(timeout=10)  # never hang a shutdown on an unreachable broker

    def __enter__(self) -> EventProducer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
