"""`ledger alerts ack`: an acknowledgement is an AlertAcknowledged event, never an edit."""

from __future__ import annotations

import uuid

from ledger.errors import EventValidationError
from ledger.intake import build_event
from ledger.kafka.producer import EventProducer
from ledger.runtime import Ledger
from ledger.store.connection import connection
from ledger.store.queries import alert_exists


def acknowledge(ledger: Ledger, alert_id: str, by: str, note: str = "") -> str:
    """Emits the acknowledgement to the alerts topic; returns its event id."""
    try:
        uuid.UUID(alert_id)
    except ValueError as exc:
        raise EventValidationError(f"{alert_id!r} is not an alert id (a UUID).") from exc
    with connection(ledger.reader_url, ledger.schema) as conn:
        if not alert_exists(conn, alert_id):
            raise EventValidationError(f"No alert {alert_id} is in the ledger.")
    if not by.strip():
        raise EventValidationError("--by must name the person acknowledging the alert.")
    event = build_event(
        {
            "type": "AlertAcknowledged",
            "alert_id": alert_id,
            "acknowledged_by": by,
            "note": note,
            "recorded_by": f"ledger alerts ack ({by})",
        }
    )
    with EventProducer(ledger.bootstrap, ledger.topics.alerts) as producer:
        producer.send([event])
    return event.event_id
