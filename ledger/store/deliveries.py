"""Webhook delivery attempts and alert acknowledgements, as the alert-delivery follower records them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.store.connection import Connection


@dataclass(frozen=True)
class DeliveryState:
    attempts: int
    finished: bool  # delivered, or given up on after the last retry


def delivery_state(conn: Connection, alert_id: str, endpoint: str) -> DeliveryState:
    row = conn.execute(
        "SELECT max(attempt), bool_or(outcome IN ('delivered', 'failed')) FROM webhook_attempts"
        " WHERE alert_id = %s AND endpoint = %s",
        (alert_id, endpoint),
    ).fetchone()
    return DeliveryState(int(row[0] or 0), bool(row[1])) if row else DeliveryState(0, False)


def insert_attempt(
    conn: Connection,
    alert_id: str,
    endpoint: str,
    attempt: int,
    outcome: str,
    status: int | None,
    error: str | None,
) -> None:
    conn.execute(
        "INSERT INTO webhook_attempts (alert_id, endpoint, attempt, outcome, status_code, error)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (alert_id, endpoint, attempt, outcome, status, error),
    )


def insert_acknowledgement(
    conn: Connection, event_id: str, alert_id: str, by: str, note: str, at: datetime
) -> None:
    conn.execute(
        "INSERT INTO acknowledgements (event_id, alert_id, acknowledged_by, note, acknowledged_at)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (event_id, alert_id, by, note, at),
    )
