"""The alert-delivery consumer: queues a webhook for each alert the ledger stored, never for a
record merely found on the alerts topic; senders post them after commit (webhook_sender)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from consumers.base import Consumer
from consumers.webhook_sender import WebhookSenders, stored_raised
from ledger.codec import EventCodec
from ledger.config import Topics
from ledger.events import AlertRaised, AlertResolved
from ledger.store import Connection
from ledger.store import deliveries as store
from ledger.webhook_config import DeliveryConfig
from ledger.webhooks import ALERT_FIELDS

log = logging.getLogger(__name__)

# The fields of an AlertRaised that must equal the stored alert's for it to be the ledger's own
# are those a webhook carries (ledger.webhooks.ALERT_FIELDS).


class AlertDeliveryConsumer(Consumer):
    """Reads the alerts topic; what it delivers comes from the ledger's own tables.

    An AlertRaised is queued for every endpoint only when the ledger stored that alert with the
    same contents; an AlertResolved only when the ledger stored that status change. Anything
    else on the topic (a record written by someone who could write the topic, not by the
    ledger) is dead-lettered with a critical ``unauthorized_event`` alert and never posted.
    The queue (``webhook_outbox``) commits with the offset; posting happens after the commit in
    sender threads (at-least-once, each attempt recorded in ``webhook_attempts``).
    """

    name = "alert_delivery"

    def topics(self, topics: Topics) -> tuple[str, ...]:
        return (topics.alerts,)  # it delivers what the ledger raised, not what agencies sent

    def __init__(
        self,
        config: DeliveryConfig,
        codec: EventCodec | None = None,
        *,
        publisher: Any = None,
        dlq_publisher: Any = None,
    ) -> None:
        super().__init__(publisher=publisher, dlq_publisher=dlq_publisher)
        self.config = config
        self.codec = codec or EventCodec()
        self.senders = WebhookSenders(config)
        self.endpoints = [e.name for e in config.endpoints]

    def started(self, database_url: str, schema: str) -> None:
        self.senders.start(database_url, schema)

    def close(self) -> None:
        self.senders.close()

    def process(
        self, conn: Connection, tp: TopicPartition, records: Sequence[ConsumerRecord]
    ) -> None:
        for rec, event in self.decoded(conn, records):
            if isinstance(event, AlertRaised):
                problem = self._raised_problem(conn, event)
                if problem:
                    self.refuse(conn, rec, problem)
                else:
                    store.queue(conn, event.alert_id, "raised", event.alert_id, self.endpoints)
                    self.stats.bump("queued")
            elif isinstance(event, AlertResolved):
                problem = self._resolved_problem(conn, event)
                if problem:
                    self.refuse(conn, rec, problem)
                else:
                    # Its own webhook id (the AlertResolved event's), so it is not taken for a
                    # repeat of the alert it resolves.
                    store.queue(conn, event.event_id, "resolved", event.alert_id, self.endpoints)
                    self.stats.bump("queued")
            else:
                self.refuse(conn, rec, f"a {event.event_type} does not belong on the alerts topic")

    def _raised_problem(self, conn: Connection, event: AlertRaised) -> str:
        stored = store.stored_alert(conn, event.alert_id)
        if stored is None:  # perhaps published by a transaction that is still committing
            store.wait_for_publishers(conn)
            stored = store.stored_alert(conn, event.alert_id)
        if stored is None:
            return f"alert {event.alert_id} was never stored by the ledger"
        mine = stored_raised(stored).to_record()
        theirs = event.to_record()
        differ = [f for f in ALERT_FIELDS if mine[f] != theirs[f]]
        if differ:
            return f"alert {event.alert_id} differs from the stored alert in {', '.join(differ)}"
        return ""

    def _resolved_problem(self, conn: Connection, event: AlertResolved) -> str:
        stored = store.stored_resolution(conn, event.event_id)
        if stored is None:
            store.wait_for_publishers(conn)
            stored = store.stored_resolution(conn, event.event_id)
        if stored is None or stored["alert_id"] != event.alert_id:
            return f"resolution {event.event_id} of alert {event.alert_id} was never stored"
        if stored["reason"][:2000] != event.reason or stored["caused_by"] != event.resolved_by:
            return f"resolution {event.event_id} differs from the stored status change"
        return ""

    def after_commit(self) -> None:
        self.senders.wake()
