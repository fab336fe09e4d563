"""Requests for disclosure and each disclosure's details, written by the volume follower."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import psycopg

from ledger.events import DisclosureRecorded, DisclosureRequested
from ledger.store.event_rows import column_arrays, insert_event


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
    conn.execute(
        "INSERT INTO disclosure_details (event_id, disclosure_id, recipient_address, tax_periods,"
        " match_counts, address_counts)"
        " SELECT * FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::jsonb[], %s::jsonb[],"
        " %s::jsonb[]) ON CONFLICT DO NOTHING",
        (
            *column_arrays(events, "event_id", "disclosure_id", "recipient_address"),
            [json.dumps(list(e.tax_periods)) for e in events],
            [json.dumps(dict(e.match_counts)) for e in events],
            [json.dumps(dict(e.address_counts)) for e in events],
        ),
    )
