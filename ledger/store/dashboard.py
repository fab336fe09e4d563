"""What the dashboard reads beyond the API's queries: scope menus, a day's entries, bulk candidates."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from psycopg.rows import dict_row

from ledger.store.connection import Connection

SCOPE_COLUMNS = {
    "recipient": "recipient_agency",
    "authority": "legal_authority",
    "source": "source_agency",
}
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


def day_disclosures(
    conn: Connection, kind: str, scope: str | None, day: date, limit: int
) -> list[dict[str, Any]]:
    """The disclosures of one day, in one scope (any, when ``scope`` is None), in time order."""
    column = SCOPE_COLUMNS[kind]
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT event_id::text, transmitted_at, recipient_agency, legal_authority,"
            " record_count, purpose"
            f" FROM disclosures WHERE day = %s AND ({column} = %s OR %s::text IS NULL)"
            " ORDER BY transmitted_at LIMIT %s",
            (day, scope, scope, limit),
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
