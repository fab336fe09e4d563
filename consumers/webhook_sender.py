"""Drains the webhook outbox after commit: one sender thread per endpoint, its own connection.

Each message is posted with no transaction open; each attempt is recorded in a short
transaction of its own, and back-off waits happen between them. A hanging endpoint therefore
holds up only its own queue, never the delivery consumer's next commit nor another endpoint.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from consumers.base import plain_reason
from ledger.errors import ServiceError
from ledger.events import AlertRaised, AlertResolved
from ledger.store import Connection, connect, transaction
from ledger.store import deliveries as store
from ledger.store.connection import reopen
from ledger.webhook_config import DeliveryConfig, Endpoint
from ledger.webhooks import alert_payload, backoff_delays, headers, resolution_payload

log = logging.getLogger(__name__)

IDLE_SECONDS = 1.0  # how often an idle sender looks at the outbox without being woken


def stored_raised(alert: dict[str, Any]) -> AlertRaised:
    """An AlertRaised carrying the stored alert's fields: the webhook body is built from these."""
    return AlertRaised.from_fields(
        {
            **alert,
            "event_id": str(alert["alert_id"]),
            "occurred_at": datetime.now(UTC),
            "recorded_by": "ledger",
            "evidence": tuple(alert["evidence"]),
        }
    )


def stored_resolved(change: dict[str, Any]) -> AlertResolved:
    return AlertResolved(
        event_id=str(change["event_id"]),
        occurred_at=change["at"],
        recorded_by="ledger",
        alert_id=str(change["alert_id"]),
        reason=str(change["reason"]),
        resolved_by=str(change["caused_by"]),
        resolved_at=change["at"],
    )


class EndpointSender:
    """Sends one endpoint's queued messages in order, each until delivered or given up."""

    def __init__(
        self, config: DeliveryConfig, endpoint: Endpoint, database_url: str, schema: str
    ) -> None:
        self.config, self.endpoint = config, endpoint
        self.database_url, self.schema = database_url, schema
        self.wake = threading.Event()
        self.stop = threading.Event()
        self.client = httpx.Client(timeout=config.timeout_seconds)
        self.due: dict[str, float] = {}  # webhook id -> monotonic time of its next retry
        self.thread = threading.Thread(
            target=self.run, name=f"webhooks-{endpoint.name}", daemon=True
        )
        self.sent: dict[str, int] = {}

    def run(self) -> None:
        conn: Connection | None = None
        failures = 0
        while not self.stop.is_set():
            try:
                conn = connect(self.database_url, self.schema) if conn is None else conn
                pause = self.drain(conn)
                failures = 0
            except ServiceError as exc:  # the database is away: try again, the queue keeps
                failures += 1
                log.warning("webhook sender %s: %s", self.endpoint.name, plain_reason(exc))
                if conn is not None:
                    try:
                        conn = reopen(conn, self.database_url, self.schema)
                    except ServiceError:
                        conn = None
                self.stop.wait(min(30.0, 0.5 * 2**failures))
                continue
            if pause > 0:
                self.wake.wait(pause)
                self.wake.clear()
        if conn is not None:
            conn.close()
        self.client.close()

    def drain(self, conn: Connection) -> float:
        """Sends what is due; returns how long to wait before looking again (0: at once)."""
        with transaction(conn):
            queued = store.pending(conn, self.endpoint.name)
        pause = IDLE_SECONDS
        for message in queued:
            if self.stop.is_set():
                break
            wait = self.due.get(message.webhook_id, 0.0) - time.monotonic()
            if wait > 0:
                pause = min(pause, wait)
                continue
            self.send(conn, message)
            pause = 0.0
        return pause

    def body(self, conn: Connection, message: store.Pending, timestamp: int) -> bytes | None:
        with transaction(conn):
            if message.kind == "raised":
                alert = store.stored_alert(conn, message.alert_id)
                return None if alert is None else alert_payload(stored_raised(alert), timestamp)
            change = store.stored_resolution(conn, message.webhook_id)
            return (
                None if change is None else resolution_payload(stored_resolved(change), timestamp)
            )

    def send(self, conn: Connection, message: store.Pending) -> None:
        attempt = message.attempts + 1
        timestamp = int(datetime.now(UTC).timestamp())
        body = self.body(conn, message, timestamp)
        status, error = None, None
        if body is None:  # queued only for what is stored, so this cannot happen; say so
            error = "the stored alert is missing"
        else:
            try:  # no transaction is open here
                response = self.client.post(
                    self.endpoint.url,
                    content=body,
                    headers=headers(message.webhook_id, timestamp, body, self.endpoint.secret),
                )
                status = response.status_code
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
        delivered = status is not None and 200 <= status < 300
        last = attempt >= self.config.attempts or body is None
        outcome = "delivered" if delivered else ("failed" if last else "retrying")
        with transaction(conn):
            store.insert_attempt(
                conn, message.webhook_id, self.endpoint.name, attempt, outcome, status, error
            )
        self.sent[outcome] = self.sent.get(outcome, 0) + 1
        if outcome == "retrying":
            delays = backoff_delays(
                self.config.attempts, self.config.base_seconds, self.config.factor
            )
            delay = delays[min(attempt, len(delays)) - 1]
            self.due[message.webhook_id] = time.monotonic() + delay
        else:
            self.due.pop(message.webhook_id, None)
            if outcome == "failed":
                log.error(
                    "webhook %s could not be delivered to %s after %d attempts",
                    message.webhook_id,
                    self.endpoint.name,
                    attempt,
                )


class WebhookSenders:
    """The senders of every configured endpoint, started once the consumer has a database."""

    def __init__(self, config: DeliveryConfig) -> None:
        self.config = config
        self.senders: list[EndpointSender] = []

    def start(self, database_url: str, schema: str) -> None:
        if self.senders:
            return
        self.senders = [
            EndpointSender(self.config, e, database_url, schema) for e in self.config.endpoints
        ]
        for sender in self.senders:
            sender.thread.start()

    def wake(self) -> None:
        for sender in self.senders:
            sender.wake.set()

    def close(self, timeout: float = 5.0) -> None:
        for sender in self.senders:
            sender.stop.set()
            sender.wake.set()
        for sender in self.senders:
            sender.thread.join(timeout)
        self.senders = []
