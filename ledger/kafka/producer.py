"""Emits validated events to Kafka: acks=all, idempotent, keyed by recipient agency."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError
from kafka.record.default_records import DefaultRecordBatchBuilder

from ledger.codec import EventCodec
from ledger.errors import EventValidationError, ServiceError
from ledger.events import LedgerEvent
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


def message_size(value: bytes, key: bytes, headers: list[tuple[str, bytes]]) -> int:
    """Upper bound of the record batch holding just this record, as the broker measures it."""
    return int(DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers))


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
        }
        config.update(overrides)
        self.max_request_size = int(config["max_request_size"])
        try:
            self._producer = KafkaProducer(**config)
        except KafkaError as exc:
            raise ServiceError(f"Cannot reach Kafka at {bootstrap}: {exc}") from exc

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
        messages = [
            (
                self.codec.encode(e),
                e.key.encode("utf-8"),
                [("event_type", e.event_type.encode("ascii"))],
            )
            for e in events
        ]
        limit = self.max_request_size
        if max_message_bytes is not None:
            limit = min(limit, max_message_bytes)
        oversized = [
            (i, size)
            for i, (value, key, headers) in enumerate(messages)
            if (size := message_size(value, key, headers)) > limit
        ]
        if oversized:
            raise OversizedEventsError(oversized, limit)
        futures = []
        for value, key, headers in messages:
            futures.append(self._producer.send(self.topic, value=value, key=key, headers=headers))
        self._producer.flush()
        sent = []
        for i, (event, future) in enumerate(zip(events, futures, strict=True)):
            try:
                meta = future.get(timeout=30)
            except KafkaError as exc:
                raise ServiceError(
                    f"Kafka did not acknowledge event {event.event_id} "
                    f"({i} of {len(events)} were acknowledged before it): {exc}"
                ) from exc
            sent.append(
                SentEvent(event.event_id, event.event_type, meta.topic, meta.partition, meta.offset)
            )
            if progress:
                progress(1)
        return sent

    def send_raw(self, value: bytes, key: bytes, headers: list[tuple[str, bytes]]) -> None:
        """Sends bytes as they are (for tests of the dead-letter path and for tooling)."""
        self._producer.send(self.topic, value=value, key=key, headers=headers).get(timeout=30)

    def close(self) -> None:
        self._producer.close(timeout=10)  # never hang a shutdown on an unreachable broker

    def __enter__(self) -> EventProducer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
