"""What the dashboard reads beyond the API's queries: scope menus and a day's entries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from psycopg.rows import dict_row

from ledger.store.connection import Connection


def scope_values(conn: Connection, kind: str, limit: int) -> list[str]:
    """The scope values of one kind that have daily volume, in order."""
    rows = conn.execute(
        "SELECT DISTINCT scope_value FROM daily_volume WHERE scope_kind = %s ORDER BY 1 LIMIT %s",
        (kind, limit),
    )
    return [str(r[0]) for r in rows]


def day_flows(conn: Connection, day: date) -> list[tuple[str, str, str]]:
    """The distinct (source, recipient, authority) texts of one day's disclosures."""
    rows = conn.execute(
        "SELECT DISTINCT source_agency, recipient_agency, legal_authority FROM disclosures"
        " WHERE day = %s",
        (day,),
    ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def day_disclosures(
    conn: Connection, day: date, flows: Sequence[tuple[str, str, str]] | None, limit: int
) -> list[dict[str, Any]]:
    """The disclosures of one day with these (source, recipient, authority) texts (any, when
    ``flows`` is None), in time order."""
    flows = None if flows is None else list(flows)
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT event_id::text, transmitted_at, recipient_agency, legal_authority,"
            " record_count, purpose FROM disclosures d WHERE day = %(day)s AND"
            " (%(any)s OR (source_agency, recipient_agency, legal_authority) IN"
            "  (SELECT * FROM unnest(%(s)s::text[], %(r)s::text[], %(a)s::text[])))"
            " ORDER BY transmitted_at LIMIT %(limit)s",
            {
                "day": day,
                "any": flows is None,
                "s": [f[0] for f in flows or []],
                "r": [f[1] for f in flows or []],
                "a": [f[2] for f in flows or []],
                "limit": limit,
            },
        )
        return list(cur.fetchall())
