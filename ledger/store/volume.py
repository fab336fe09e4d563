"""Reads and writes daily volume, disclosures, notices and court orders for the volume follower."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import psycopg

from ledger.rules.volume_book import PRIOR_DAYS, DayTotals, ScopeKey, VolumeBook


def lock_sources(conn: psycopg.Connection, sources: Iterable[str]) -> None:
    """Serialises volume updates per source agency across partitions and processes.

    The source-wide scope sums disclosures to every recipient, and recipients live on different
    partitions, so two followers could otherwise both read yesterday's total and both miss the
    crossing. Locks are taken in sorted order so two batches cannot deadlock.
    """
    for source in sorted(set(sources)):
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 1))", ("volume:" + source,))


def load_book(
    conn: psycopg.Connection, keys: Sequence[ScopeKey], first_day: date, last_day: date
) -> VolumeBook:
    """Loads every stored day of ``keys`` that a batch spanning these days can touch."""
    book = VolumeBook()
    if not keys:
        return book
    rows = conn.execute(
        "SELECT v.scope_kind, v.source_agency, v.scope_value, v.day, v.disclosures, v.records"
        " FROM daily_volume v"
        " JOIN unnest(%s::text[], %s::text[], %s::text[]) AS k(kind, source, value)"
        "   ON v.scope_kind = k.kind AND v.source_agency = k.source AND v.scope_value = k.value"
        " WHERE v.day BETWEEN %s AND %s",
        (
            [k[0] for k in keys],
            [k[1] for k in keys],
            [k[2] for k in keys],
            first_day - timedelta(days=PRIOR_DAYS),
            last_day + timedelta(days=PRIOR_DAYS),
        ),
    ).fetchall()
    for kind, source, value, day, disclosures, records in rows:
        book.load((kind, source, value), day, int(disclosures), int(records))
    return book


def first_days(conn: psycopg.Connection, sources: Iterable[str]) -> dict[str, date]:
    """The first day the ledger holds any disclosure from each source (coverage start)."""
    rows = conn.execute(
        "SELECT source_agency, min(day) FROM daily_volume"
        " WHERE scope_kind = 'source' AND source_agency = ANY(%s) GROUP BY source_agency",
        (sorted(set(sources)),),
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def write_deltas(conn: psycopg.Connection, deltas: dict[tuple[ScopeKey, date], DayTotals]) -> None:
    if not deltas:
        return
    items = sorted(deltas.items())
    conn.execute(
        "INSERT INTO daily_volume (scope_kind, source_agency, scope_value, day, disclosures, records)"
        " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::date[], %s::bigint[], %s::bigint[])"
        " ON CONFLICT (scope_kind, source_agency, scope_value, day) DO UPDATE SET"
        " disclosures = daily_volume.disclosures + EXCLUDED.disclosures,"
        " records = daily_volume.records + EXCLUDED.records",
        (
            [key[0] for (key, _), _ in items],
            [key[1] for (key, _), _ in items],
            [key[2] for (key, _), _ in items],
            [day for (_, day), _ in items],
            [v.disclosures for _, v in items],
            [v.records for _, v in items],
        ),
    )


DISCLOSURE_COLUMNS = (
    "event_id",
    "disclosure_id",
    "request_id",
    "source_agency",
    "recipient_agency",
    "legal_authority",
    "purpose",
    "nature",
    "transmitted_at",
    "day",
    "record_count",
    "match_method",
    "address_verification",
    "notice_id",
    "log_id",
    "kafka_offset",
)


def insert_disclosures(conn: psycopg.Connection, rows: Sequence[tuple[Any, ...]]) -> set[str]:
    """Inserts disclosure rows in one statement; returns the event ids that were new."""
    if not rows:
        return set()
    cols = ", ".join(DISCLOSURE_COLUMNS)
    types = (
        "uuid",
        "text",
        "text",
        "text",
        "text",
        "text",
        "text",
        "text",
        "timestamptz",
        "date",
        "bigint",
        "text",
        "text",
        "text",
        "text",
        "bigint",
    )
    arrays = ", ".join(f"%s::{t}[]" for t in types)
    columns = list(zip(*rows, strict=True))
    result = conn.execute(
        f"INSERT INTO disclosures ({cols}) SELECT * FROM unnest({arrays})"
        " ON CONFLICT (event_id) DO NOTHING RETURNING event_id::text",
        [list(c) for c in columns],
    ).fetchall()
    return {r[0] for r in result}


def _json(record: dict[str, Any]) -> str:
    return json.dumps(
        record, default=lambda v: v.isoformat() if isinstance(v, datetime | date) else str(v)
    )


def insert_notice(conn: psycopg.Connection, rec: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO notices (event_id, notice_id, case_reference, filed_at, recipient_agency,"
        " legal_authority, planned_start, planned_end, expected_record_count, record)"
        " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING",
        (
            rec["event_id"],
            rec["notice_id"],
            rec["case_reference"],
            rec["filed_at"],
            rec["recipient_agency"],
            rec["legal_authority"],
            rec["planned_transmission_start"],
            rec["planned_transmission_end"],
            rec["expected_record_count"],
            _json(rec),
        ),
    )


def insert_court_order(conn: psycopg.Connection, rec: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO court_orders (event_id, order_id, order_type, effective_at, expires_at, record)"
        " VALUES (%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING",
        (
            rec["event_id"],
            rec["order_id"],
            rec["order_type"],
            rec["effective_at"],
            rec["expires_at"],
            _json(rec),
        ),
    )


def notice_records(conn: psycopg.Connection, recipients: Iterable[str]) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT record FROM notices WHERE recipient_agency = ANY(%s) ORDER BY filed_at",
        (sorted(set(recipients)),),
    ).fetchall()
    return [r[0] for r in rows]


def court_order_records(conn: psycopg.Connection) -> list[dict[str, Any]]:
    return [r[0] for r in conn.execute("SELECT record FROM court_orders ORDER BY effective_at")]


def insert_taxpayer_refs(
    conn: psycopg.Connection, refs: Sequence[str], disclosure_id: str, event_id: str
) -> None:
    """Indexes keyed taxpayer hashes for Privacy Act accounting (never a raw TIN)."""
    if refs:
        conn.execute(
            "INSERT INTO taxpayer_refs (ref, disclosure_id, event_id)"
            " SELECT r, %s, %s FROM unnest(%s::text[]) AS r ON CONFLICT DO NOTHING",
            (disclosure_id, event_id, list(refs)),
        )
