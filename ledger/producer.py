"""Emits validated events to Kafka: acks=all, idempotent, keyed by recipient agency."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from ledger.codec import EventCodec
from ledger.errors import ServiceError
from ledger.intake import Event
from ledger.kafka_client import client_config


@dataclass(frozen=True)
class SentEvent:
    event_id: str
    event_type: str
    topic: str
    partition: int
    offset: int


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
            "batch_size": 256 * 1024,
            "max_request_size": 4 * 1024 * 1024,
            "client_id": "ledger-producer",
        }
        config.update(overrides)
        try:
            self._producer = KafkaProducer(**config)
        except KafkaError as exc:
            raise ServiceError(f"Cannot reach Kafka at {bootstrap}: {exc}") from exc

    def send(
        self, events: Sequence[Event], progress: Callable[[int], None] | None = None
    ) -> list[SentEvent]:
        """Sends every event and waits until the broker acknowledged all of them."""
        encoded = [self.codec.encode(e.event_type, e.record) for e in events]
        futures = []
        for event, value in zip(events, encoded, strict=True):
            futures.append(
                self._producer.send(
                    self.topic,
                    value=value,
                    key=event.key.encode("utf-8"),
                    headers=[("event_type", event.event_type.encode("ascii"))],
                )
            )
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
        self._producer.close()

    def __enter__(self) -> EventProducer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
