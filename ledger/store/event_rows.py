"""Writing rows: an event's row in its table (the columns queries filter on, and the whole event
as JSON), and the column arrays a bulk ``unnest()`` insert binds."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg import sql

from ledger.events.base import LedgerEvent


def event_json(record: dict[str, Any]) -> str:
    """An event's record as the JSON of its ``record`` column (times in ISO 8601)."""
    return json.dumps(
        record, default=lambda v: v.isoformat() if isinstance(v, datetime | date) else str(v)
    )


def insert_event(
    conn: psycopg.Connection, table: str, event: LedgerEvent, columns: str, **renamed: object
) -> None:
    """Stores ``event`` in ``table`` once (a redelivery adds nothing): the space-separated
    ``columns`` take the event's fields of the same name, ``renamed`` the columns whose value
    has another name, and ``record`` the whole event as JSON."""
    names = columns.split()
    values = [getattr(event, name) for name in names] + list(renamed.values())
    names += [*renamed, "record"]
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING").format(
        sql.Identifier(table),
        sql.SQL(", ").join(sql.Identifier(name) for name in names),
        sql.SQL(", ").join(sql.Placeholder() * len(names)),
    )
    conn.execute(query, [*values, event_json(event.to_record())])


def column_arrays(items: Sequence[object], *names: str) -> list[list[Any]]:
    """One array per attribute ``names``, over ``items`` in order: what ``unnest()`` binds."""
    return [[getattr(item, name) for item in items] for name in names]
