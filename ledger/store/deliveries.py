"""Webhook delivery: the outbox, attempts, and acknowledgements, as the alert-delivery consumer
and its senders record them; and the lock that tells a forged alert from one not yet committed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg.rows import dict_row

from ledger.events import AlertAcknowledged
from ledger.store.connection import Connection

# Advisory lock (class, object) around "published an alert, not committed yet": a consumer takes
# it shared from publishing until its commit; the delivery consumer takes it exclusively once, so
# that an alert it cannot find is known not to be in a transaction still committing.
_PUBLISHING = "ledger.alerts-publishing"


@dataclass(frozen=True)
class DeliveryState:
    attempts: int
    finished: bool  # delivered, or given up on after the last retry


@dataclass(frozen=True)
class Pending:
    webhook_id: str
    kind: str  # "raised" or "resolved"
    alert_id: str
    attempts: int


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


def queue(
    conn: Connection, webhook_id: str, kind: str, alert_id: str, endpoints: list[str]
) -> None:
    """Queues one message for each endpoint (a redelivered record queues nothing twice)."""
    for endpoint in endpoints:
        conn.execute(
            "INSERT INTO webhook_outbox (webhook_id, endpoint, kind, alert_id)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (webhook_id, endpoint, kind, alert_id),
        )


def pending(conn: Connection, endpoint: str, limit: int = 100) -> list[Pending]:
    """Queued messages for ``endpoint`` with no final attempt yet, oldest first."""
    rows = conn.execute(
        "SELECT o.webhook_id::text, o.kind, o.alert_id::text,"
        "  (SELECT coalesce(max(a.attempt), 0) FROM webhook_attempts a"
        "    WHERE a.alert_id = o.webhook_id AND a.endpoint = o.endpoint)"
        " FROM webhook_outbox o WHERE o.endpoint = %s AND NOT EXISTS ("
        "  SELECT 1 FROM webhook_attempts a WHERE a.alert_id = o.webhook_id"
        "   AND a.endpoint = o.endpoint AND a.outcome IN ('delivered', 'failed'))"
        " ORDER BY o.queued_at, o.webhook_id LIMIT %s",
        (endpoint, limit),
    ).fetchall()
    return [Pending(w, k, a, int(n)) for w, k, a, n in rows]


def stored_alert(conn: Connection, alert_id: str) -> dict[str, Any] | None:
    """The alert as the ledger stored it (the fields a webhook carries), or None."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT alert_id::text, rule, severity, scope, day, observed, threshold, evidence,"
            " legal_source, message FROM alerts WHERE alert_id = %s",
            (alert_id,),
        ).fetchone()


def stored_resolution(conn: Connection, event_id: str) -> dict[str, Any] | None:
    """The stored 'resolved' status change an AlertResolved event reports, or None."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT alert_id::text, event_id::text, reason, caused_by, at"
            " FROM alert_status_changes WHERE event_id = %s AND status = 'resolved'",
            (event_id,),
        ).fetchone()


def hold_publishing(conn: Connection) -> None:
    """Until this transaction ends: alerts it publishes may not be visible yet."""
    conn.execute(
        "SELECT pg_advisory_xact_lock_shared(hashtext(%s), hashtext(current_schema()))",
        (_PUBLISHING,),
    )


def wait_for_publishers(conn: Connection) -> None:
    """Returns once every transaction that published alerts before now has ended."""
    conn.execute(
        "SELECT pg_advisory_lock(hashtext(%s), hashtext(current_schema()))", (_PUBLISHING,)
    )
    conn.execute(
        "SELECT pg_advisory_unlock(hashtext(%s), hashtext(current_schema()))", (_PUBLISHING,)
    )


def store_acknowledgement(conn: Connection, ack: AlertAcknowledged) -> None:
    conn.execute(
        "INSERT INTO acknowledgements (event_id, alert_id, acknowledged_by, note, acknowledged_at)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (ack.event_id, ack.alert_id, ack.acknowledged_by, ack.note, ack.occurred_at),
    )
