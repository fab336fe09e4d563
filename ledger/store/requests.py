"""Requests for disclosure and each disclosure's details, written by the volume consumer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import orjson
import psycopg

from ledger.events import DisclosureRecorded, DisclosureRequested
from ledger.store.event_rows import insert_event


def insert_request(conn: psycopg.Connection, request: DisclosureRequested) -> None:
    insert_event(
        conn,
        "requests",
        request,
        "event_id request_id source_agency requesting_agency legal_authority received_at"
        " taxpayer_count",
        recipient_agency=request.recipient,
    )


def requests(
    conn: psycopg.Connection, request_ids: Iterable[str]
) -> dict[str, DisclosureRequested]:
    """The stored request for each of these ids; of two with one id, the later received."""
    ids = sorted({i for i in request_ids if i})
    if not ids:
        return {}
    rows = conn.execute(
        "SELECT DISTINCT ON (request_id) request_id, record FROM requests"
        " WHERE request_id = ANY(%s) ORDER BY request_id, received_at DESC, event_id",
        (ids,),
    ).fetchall()
    return {r[0]: DisclosureRequested.from_json(r[1]) for r in rows}


def insert_details(conn: psycopg.Connection, events: Sequence[DisclosureRecorded]) -> None:
    """Where each disclosure went, its tax periods and its match-quality counts."""
    if not events:
        return
    # One JSON document for the batch: binding six arrays cost more than the insert itself.
    rows = [
        {
            "event_id": e.event_id,
            "disclosure_id": e.disclosure_id,
            "recipient_address": e.recipient_address,
            "tax_periods": e.tax_periods,
            "match_counts": dict(e.match_counts),
            "address_counts": dict(e.address_counts),
        }
        for e in events
    ]
    conn.execute(
        "INSERT INTO disclosure_details (event_id, disclosure_id, recipient_address, tax_periods,"
        " match_counts, address_counts)"
        " SELECT event_id, disclosure_id, recipient_address, tax_periods, match_counts,"
        " address_counts FROM jsonb_to_recordset(%s::jsonb) AS d(event_id uuid,"
        " disclosure_id text, recipient_address text, tax_periods jsonb, match_counts jsonb,"
        " address_counts jsonb) ON CONFLICT DO NOTHING",
        (orjson.dumps(rows).decode(),),
    )
