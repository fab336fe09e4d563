"""What the reports read: (p)(3)(C) tallies for a year; a court order, the alerts about what it
covered and when the ledger received its entries. The aggregation itself is pure (``ledger.rules.reports``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

import psycopg

from ledger.events import CourtOrderRecorded
from ledger.rules.judge_contest import CONTESTED_PREFIX
from ledger.rules.model import NoticeFacts
from ledger.rules.order_verdicts import StoredVerdict
from ledger.rules.reports import DisclosureTally, RequestTally


def p3c_disclosures(conn: psycopg.Connection, first: date, last: date) -> list[DisclosureTally]:
    """Disclosures per recipient and cited authority on days ``first`` .. ``last`` (the days are
    in LEDGER_TIMEZONE); ``disclosures`` is records x tax periods (at least one)."""
    rows = conn.execute(
        "SELECT d.recipient_agency, d.legal_authority, count(*), sum(d.record_count),"
        " sum(d.record_count * greatest(1, coalesce(jsonb_array_length(x.tax_periods), 1)))"
        " FROM disclosures d LEFT JOIN disclosure_details x USING (event_id)"
        " WHERE d.day BETWEEN %s AND %s GROUP BY 1, 2",
        (first, last),
    ).fetchall()
    return [DisclosureTally(r[0], r[1], int(r[2]), int(r[3]), int(r[4])) for r in rows]


def p3c_requests(conn: psycopg.Connection, start: datetime, end: datetime) -> list[RequestTally]:
    """Requests received in [start, end) per recipient and cited authority."""
    rows = conn.execute(
        "SELECT recipient_agency, legal_authority, count(*) FROM requests"
        " WHERE received_at >= %s AND received_at < %s GROUP BY 1, 2",
        (start, end),
    ).fetchall()
    return [RequestTally(r[0], r[1], int(r[2])) for r in rows]


def court_order(conn: psycopg.Connection, order_id: str) -> CourtOrderRecorded | None:
    """The order recorded under ``order_id`` (the latest recorded, if it was recorded twice)."""
    row = conn.execute(
        "SELECT record FROM court_orders WHERE order_id = %s ORDER BY effective_at DESC LIMIT 1",
        (order_id,),
    ).fetchone()
    return CourtOrderRecorded.from_json(row[0]) if row else None


def order_alerts(
    conn: psycopg.Connection, rule: str, order_event_id: str, event_ids: Sequence[str]
) -> dict[str, StoredVerdict]:
    """The stored alerts of ``rule`` about these transmissions under the order recorded as
    ``order_event_id`` (their evidence: the transmission, then the order), by transmission
    event id, with their current status; 'contested' when a later fact contested them."""
    if not event_ids:
        return {}
    rows = conn.execute(
        "SELECT a.evidence[1], a.alert_id::text, s.status, s.status_reason FROM alerts a"
        " JOIN alert_status s USING (alert_id)"
        " WHERE a.rule = %s AND a.evidence[2] = %s AND a.evidence[1] = ANY(%s)"
        " ORDER BY a.alert_id",
        (rule, order_event_id, list(event_ids)),
    ).fetchall()
    found: dict[str, StoredVerdict] = {}
    for event_id, alert_id, status, reason in rows:
        contested = status == "open" and str(reason or "").startswith(CONTESTED_PREFIX)
        found[str(event_id)] = StoredVerdict(
            str(alert_id), "contested" if contested else str(status), reason
        )
    return found


def received_at(conn: psycopg.Connection, event_ids: Iterable[str]) -> dict[str, datetime]:
    """When each entry reached the ledger (its Kafka record time), by event id."""
    ids = sorted(set(event_ids))
    if not ids:
        return {}
    rows = conn.execute(
        "SELECT event_id::text, recorded_at FROM entries WHERE event_id = ANY(%s::uuid[])", (ids,)
    ).fetchall()
    return {str(e): t for e, t in rows}


def orders_of_types(conn: psycopg.Connection, types: Sequence[str]) -> list[str]:
    """The order ids of the recorded orders of these types, in the order they took effect."""
    rows = conn.execute(
        "SELECT order_id FROM court_orders WHERE order_type = ANY(%s)"
        " GROUP BY order_id ORDER BY min(effective_at), order_id",
        (list(types),),
    ).fetchall()
    return [str(r[0]) for r in rows]


def amendment_events(conn: psycopg.Connection, disclosure_ids: Iterable[str]) -> list[str]:
    """The event ids of every DisclosureAmended entry naming one of these disclosure ids."""
    ids = sorted(set(disclosure_ids))
    if not ids:
        return []
    rows = conn.execute(
        "SELECT event_id::text FROM entries WHERE event_type = 'DisclosureAmended'"
        " AND body->>'disclosure_id' = ANY(%s) ORDER BY 1",
        (ids,),
    ).fetchall()
    return [str(r[0]) for r in rows]


def order_notices(conn: psycopg.Connection, case_reference: str) -> list[NoticeFacts]:
    """Every notice filed in this case, oldest filing first."""
    rows = conn.execute(
        "SELECT record FROM notices WHERE case_reference = %s", (case_reference,)
    ).fetchall()
    found = [NoticeFacts.from_record(r[0]) for r in rows]
    return sorted(found, key=lambda n: (n.filed_at, n.event_id))
