"""The alert-delivery follower: POSTs each alert to every webhook, with retries, recorded in Postgres."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx
from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from ledger.codec import EventCodec
from ledger.events import AlertAcknowledged, AlertRaised, AlertResolved
from ledger.followers.base import Follower
from ledger.store import Connection
from ledger.store import deliveries as store
from ledger.webhook_config import DeliveryConfig, Endpoint
from ledger.webhooks import alert_payload, backoff_delays, headers, resolution_payload

log = logging.getLogger(__name__)


class AlertDeliveryFollower(Follower):
    """At-least-once delivery keyed by alert id; a failure after the last retry is recorded.

    An alert already delivered (or already given up on) for an endpoint is never sent again,
    so a redelivered Kafka message or a restarted consumer does not repeat a delivered alert.
    The offset advances only after every alert of the batch ended delivered or failed.
    """

    name = "alert_delivery"

    def __init__(
        self,
        config: DeliveryConfig,
        codec: EventCodec | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        publisher: Any = None,
        dlq_publisher: Any = None,
    ) -> None:
        super().__init__(publisher=publisher, dlq_publisher=dlq_publisher)
        self.config = config
        self.codec = codec or EventCodec()
        self.sleep = sleep
        self.client = httpx.Client(timeout=config.timeout_seconds)

    def process(
        self, conn: Connection, tp: TopicPartition, records: Sequence[ConsumerRecord]
    ) -> None:
        for _, event in self.decoded(conn, records):
            if isinstance(event, AlertAcknowledged):
                self._acknowledge(conn, event)
            elif isinstance(event, AlertRaised):
                for endpoint in self.config.endpoints:
                    self._deliver(conn, endpoint, event.alert_id, partial(alert_payload, event))
            elif isinstance(event, AlertResolved):
                # Its own webhook id (the AlertResolved event's), so it is not taken for a
                # repeat of the alert it resolves.
                body = partial(resolution_payload, event)
                for endpoint in self.config.endpoints:
                    self._deliver(conn, endpoint, event.event_id, body)

    def _acknowledge(self, conn: Connection, ack: AlertAcknowledged) -> None:
        store.insert_acknowledgement(
            conn, ack.event_id, ack.alert_id, ack.acknowledged_by, ack.note, ack.occurred_at
        )

    def _deliver(
        self, conn: Connection, endpoint: Endpoint, alert_id: str, payload: Callable[[int], bytes]
    ) -> None:
        """Delivers one message (``alert_id`` is its webhook id) until delivered or given up."""
        state = store.delivery_state(conn, alert_id, endpoint.name)
        previous = state.attempts
        if state.finished:
            self.stats.bump("already_delivered")
            return
        delays = backoff_delays(self.config.attempts, self.config.base_seconds, self.config.factor)
        for attempt in range(previous + 1, previous + 1 + self.config.attempts):
            timestamp = int(datetime.now(UTC).timestamp())
            body = payload(timestamp)
            status, error = None, None
            try:
                response = self.client.post(
                    endpoint.url,
                    content=body,
                    headers=headers(alert_id, timestamp, body, endpoint.secret),
                )
                status = response.status_code
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
            delivered = status is not None and 200 <= status < 300
            last = attempt == previous + self.config.attempts
            outcome = "delivered" if delivered else ("failed" if last else "retrying")
            store.insert_attempt(conn, alert_id, endpoint.name, attempt, outcome, status, error)
            self.stats.bump(outcome)
            if outcome != "retrying":
                if outcome == "failed":
                    log.error(
                        "alert %s could not be delivered to %s after %d attempts",
                        alert_id,
                        endpoint.name,
                        self.config.attempts,
                    )
                return
            self.sleep(delays[attempt - previous - 1])
