"""What the dashboard reads beyond the API's queries: scope menus, a day's entries, bulk candidates."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from psycopg.rows import dict_row

from ledger.store.connection import Connection

# Exactly the fields of ledger.rules.model.DisclosureFacts, by name.
FACT_COLUMNS = (
    "event_id::text AS event_id, disclosure_id, source_agency, recipient_agency, legal_authority,"
    " transmitted_at, day, record_count, match_method, address_verification, notice_id"
)


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


@dataclass(frozen=True)
class BulkBounds:
    """A coarse filter every disclosure some notice order could cover passes (the rules decide)."""

    since: datetime
    until: datetime | None  # exclusive; None: no end
    min_records: int
    recipients: Collection[str] | None  # None: any recipient


def bulk_candidates(
    conn: Connection, bounds: BulkBounds, before: tuple[datetime, str] | None, limit: int
) -> list[dict[str, Any]]:
    """Disclosures within ``bounds``, newest first, strictly before ``before`` (transmitted_at,
    event_id) when given; each row holds the fields of a DisclosureFacts."""
    where = ["transmitted_at >= %(since)s", "record_count >= %(min_records)s"]
    if bounds.until is not None:
        where.append("transmitted_at < %(until)s")
    if bounds.recipients is not None:
        where.append("recipient_agency = ANY(%(recipients)s)")
    if before is not None:
        where.append("(transmitted_at, event_id) < (%(at)s, %(event_id)s::uuid)")
    params: dict[str, Any] = {
        "since": bounds.since,
        "until": bounds.until,
        "min_records": bounds.min_records,
        "recipients": sorted(bounds.recipients or ()),
        "at": before[0] if before else None,
        "event_id": before[1] if before else None,
        "limit": limit,
    }
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            f"SELECT {FACT_COLUMNS} FROM disclosures WHERE {' AND '.join(where)}"
            " ORDER BY transmitted_at DESC, event_id DESC LIMIT %(limit)s",
            params,
        )
        return list(cur.fetchall())
