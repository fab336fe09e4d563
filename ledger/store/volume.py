"""Reads and writes daily volume, disclosures, notices and court orders for the volume consumer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from operator import attrgetter
from typing import Any

import psycopg
from psycopg import sql

from ledger.events import CourtOrderRecorded, DisclosureRecorded, NoticeFiled
from ledger.rules.fields_of import fields_of
from ledger.rules.volume_book import LOOKBACK_DAYS, PRIOR_DAYS, DayTotals, ScopeKey, VolumeBook
from ledger.store.bulk import copy_rows
from ledger.store.event_rows import insert_event

# daily_volume counts up only; daily_volume_amended holds what amendments would take away.
VOLUME_TABLES = ("daily_volume", "daily_volume_amended")


def lock_sources(conn: psycopg.Connection, sources: Iterable[str]) -> None:
    """Serialises volume updates per source agency across partitions and processes.

    The source-wide scope sums disclosures to every recipient, and recipients live on different
    partitions, so two consumers could otherwise both read yesterday's total and both miss the
    crossing. Locks are taken in sorted order so two batches cannot deadlock.
    """
    for source in sorted(set(sources)):
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 1))", ("volume:" + source,))


def load_book(
    conn: psycopg.Connection, keys: Sequence[ScopeKey], first_day: date, last_day: date
) -> VolumeBook:
    """Loads every stored day of ``keys`` that a batch spanning these days can touch: the prior
    year of its days' trailing windows before it, the days whose prior year it falls in after."""
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
            first_day - timedelta(days=LOOKBACK_DAYS),
            last_day + timedelta(days=PRIOR_DAYS),
        ),
    ).fetchall()
    book.seed(((kind, source, value), day, d, r) for kind, source, value, day, d, r in rows)
    return book


def first_days(conn: psycopg.Connection, sources: Iterable[str]) -> dict[str, date]:
    """The first day the ledger holds any disclosure from each source (coverage start)."""
    rows = conn.execute(
        "SELECT source_agency, min(day) FROM daily_volume"
        " WHERE scope_kind = 'source' AND source_agency = ANY(%s) GROUP BY source_agency",
        (sorted(set(sources)),),
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def last_days(conn: psycopg.Connection, keys: Iterable[ScopeKey]) -> dict[ScopeKey, date]:
    """The latest day the ledger holds for each scope (late_recording asks for recipients)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = conn.execute(
        "SELECT v.scope_kind, v.source_agency, v.scope_value, max(v.day) FROM daily_volume v"
        " JOIN unnest(%s::text[], %s::text[], %s::text[]) AS k(kind, source, value)"
        "   ON v.scope_kind = k.kind AND v.source_agency = k.source AND v.scope_value = k.value"
        " GROUP BY 1, 2, 3",
        ([k[0] for k in wanted], [k[1] for k in wanted], [k[2] for k in wanted]),
    ).fetchall()
    return {(r[0], r[1], r[2]): r[3] for r in rows}


def write_deltas(
    conn: psycopg.Connection,
    deltas: dict[tuple[ScopeKey, date], DayTotals],
    table: str = "daily_volume",
) -> None:
    """Adds ``deltas`` to ``table``: daily_volume (as counted) or daily_volume_amended (what
    amendments would take away; docs/history.md)."""
    if not deltas:
        return
    if table not in VOLUME_TABLES:
        raise ValueError(f"not a volume table: {table}")
    items = sorted(deltas.items())
    conn.execute(
        sql.SQL(
            "INSERT INTO {t} (scope_kind, source_agency, scope_value, day, disclosures, records)"
            " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::date[], %s::bigint[],"
            " %s::bigint[]) ON CONFLICT (scope_kind, source_agency, scope_value, day) DO UPDATE"
            " SET disclosures = {t}.disclosures + EXCLUDED.disclosures,"
            " records = {t}.records + EXCLUDED.records"
        ).format(t=sql.Identifier(table)),
        (
            [key[0] for (key, _), _ in items],
            [key[1] for (key, _), _ in items],
            [key[2] for (key, _), _ in items],
            [day for (_, day), _ in items],
            [v.disclosures for _, v in items],
            [v.records for _, v in items],
        ),
    )


@dataclass(frozen=True, kw_only=True)
class DisclosureRow:
    """One row of ``disclosures``: the fields are the table's columns, in order, with their types.

    A DisclosureRecorded event, the calendar day it counts on and where in the log it is.
    """

    event_id: str = field(metadata={"sql": "uuid"})
    disclosure_id: str = field(metadata={"sql": "text"})
    request_id: str | None = field(metadata={"sql": "text"})
    source_agency: str = field(metadata={"sql": "text"})
    recipient_agency: str = field(metadata={"sql": "text"})
    legal_authority: str = field(metadata={"sql": "text"})
    purpose: str = field(metadata={"sql": "text"})
    nature: str = field(metadata={"sql": "text"})
    transmitted_at: datetime = field(metadata={"sql": "timestamptz"})
    day: date = field(metadata={"sql": "date"})  # in LEDGER_TIMEZONE
    record_count: int = field(metadata={"sql": "bigint"})
    match_method: str | None = field(metadata={"sql": "text"})
    address_verification: str | None = field(metadata={"sql": "text"})
    notice_id: str | None = field(metadata={"sql": "text"})
    log_id: str = field(metadata={"sql": "text"})
    kafka_offset: int = field(metadata={"sql": "bigint"})

    @classmethod
    def of(
        cls, event: DisclosureRecorded, *, day: date, log_id: str, kafka_offset: int
    ) -> DisclosureRow:
        return fields_of(cls, event, day=day, log_id=log_id, kafka_offset=kafka_offset)


DISCLOSURE_COLUMNS = tuple(f.name for f in fields(DisclosureRow))
DISCLOSURE_TYPES = tuple(f.metadata["sql"] for f in fields(DisclosureRow))
_DISCLOSURE_VALUES = attrgetter(*DISCLOSURE_COLUMNS)
_STAGE = sql.SQL(
    "CREATE TEMP TABLE IF NOT EXISTS disclosures_stage"
    " (LIKE disclosures INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)
_STAGE_INSERT = sql.SQL(
    "INSERT INTO disclosures ({columns}) SELECT {columns} FROM disclosures_stage"
    " ON CONFLICT (event_id) DO NOTHING RETURNING event_id::text"
).format(columns=sql.SQL(", ").join(sql.Identifier(name) for name in DISCLOSURE_COLUMNS))


def insert_disclosures(conn: psycopg.Connection, rows: Sequence[DisclosureRow]) -> set[str]:
    """Inserts disclosure rows; returns the event ids that were new (a redelivery adds none).

    The rows are COPYed into a session-private staging table and moved with one INSERT ... ON
    CONFLICT: COPY costs a fraction of binding sixteen arrays (measured with py-spy), and the
    staging table is emptied first, because a slice rolled back to its savepoint must not leave
    rows for the next one.
    """
    if not rows:
        return set()
    conn.execute(_STAGE)
    conn.execute("TRUNCATE disclosures_stage")
    copy_rows(
        conn,
        "disclosures_stage",
        DISCLOSURE_COLUMNS,
        DISCLOSURE_TYPES,
        map(_DISCLOSURE_VALUES, rows),
    )
    result = conn.execute(_STAGE_INSERT).fetchall()
    return {r[0] for r in result}


def insert_notice(conn: psycopg.Connection, notice: NoticeFiled) -> None:
    insert_event(
        conn,
        "notices",
        notice,
        "event_id notice_id case_reference filed_at recipient_agency legal_authority"
        " expected_record_count",
        planned_start=notice.planned_transmission_start,
        planned_end=notice.planned_transmission_end,
    )


def insert_court_order(conn: psycopg.Connection, order: CourtOrderRecorded) -> None:
    insert_event(
        conn, "court_orders", order, "event_id order_id order_type effective_at expires_at"
    )


def notice_records(conn: psycopg.Connection, recipients: Iterable[str]) -> list[dict[str, Any]]:
    """The stored JSON of every notice for these recipients, oldest filing first."""
    rows = conn.execute(
        "SELECT record FROM notices WHERE recipient_agency = ANY(%s) ORDER BY filed_at",
        (sorted(set(recipients)),),
    ).fetchall()
    return [r[0] for r in rows]


def notice_recipients(conn: psycopg.Connection) -> list[str]:
    """Every recipient text notices were filed for (the caller resolves them to agencies)."""
    return [r[0] for r in conn.execute("SELECT DISTINCT recipient_agency FROM notices")]


def court_order_records(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """The stored JSON of every court order, in the order they took effect."""
    return [r[0] for r in conn.execute("SELECT record FROM court_orders ORDER BY effective_at")]


def notices(conn: psycopg.Connection, recipients: Iterable[str]) -> list[NoticeFiled]:
    """Every notice filed for these recipients, oldest filing first."""
    return [NoticeFiled.from_json(r) for r in notice_records(conn, recipients)]


def court_orders(conn: psycopg.Connection) -> list[CourtOrderRecorded]:
    """Every court order recorded, in the order they took effect."""
    return [CourtOrderRecorded.from_json(r) for r in court_order_records(conn)]


def insert_taxpayer_refs(conn: psycopg.Connection, rows: Sequence[tuple[str, str, str]]) -> None:
    """Indexes keyed taxpayer hashes ``(ref, disclosure_id, event_id)`` for Privacy Act
    accounting (never a raw TIN): one statement for a batch, not one per disclosure."""
    if rows:
        refs, disclosures, events = (list(column) for column in zip(*rows, strict=True))
        conn.execute(
            "INSERT INTO taxpayer_refs (ref, disclosure_id, event_id)"
            " SELECT * FROM unnest(%b::text[], %b::text[], %b::uuid[]) ON CONFLICT DO NOTHING",
            (refs, disclosures, events),
        )
