"""What the reports read: (p)(3)(C) tallies for a year, a court order and the transmissions it
may cover. The aggregation itself is pure (``ledger.rules.reports``)."""

from __future__ import annotations

from datetime import date, datetime

import psycopg

from ledger.events import CourtOrderRecorded
from ledger.rules.model import DisclosureFacts
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


_FACTS = (
    "event_id::text, disclosure_id, source_agency, recipient_agency, legal_authority,"
    " transmitted_at, day, record_count, match_method, address_verification, notice_id,"
    " request_id"
)


def transmissions_between(
    conn: psycopg.Connection, start: datetime, end: datetime | None, min_records: int | None
) -> list[DisclosureFacts]:
    """Disclosures an order in force from ``start`` to ``end`` may cover: of at least
    ``min_records``. Which recipients and authorities it covers is the registry's to say (an
    order naming DHS covers ICE), so the caller judges those."""
    rows = conn.execute(
        f"SELECT {_FACTS} FROM disclosures WHERE transmitted_at >= %(start)s"
        " AND (%(end)s::timestamptz IS NULL OR transmitted_at < %(end)s)"
        " AND record_count >= %(min)s ORDER BY transmitted_at, event_id",
        {"start": start, "end": end, "min": min_records or 0},
    ).fetchall()
    return [DisclosureFacts(*r) for r in rows]
