"""Disclosures as they now stand: amendments, duplicates, and the reads the re-evaluation needs.

Rows of ``disclosures`` are never changed; ``disclosure_amendments`` (migration 007) holds each
correction, and the view ``current_disclosures`` gives every disclosure as its latest amendment
left it. The rules re-judge disclosures from that view.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ledger.events import DisclosureAmended
from ledger.rules.model import DisclosureFacts
from ledger.store.connection import Connection
from ledger.store.event_rows import event_json

# Current facts of a disclosure with its match-quality counts (disclosure_details, migration 008).
_FACTS = (
    "d.event_id::text, d.disclosure_id, d.source_agency, d.recipient_agency, d.legal_authority,"
    " d.transmitted_at, d.day, d.record_count, d.match_method, d.address_verification,"
    " d.notice_id, d.withdrawn, d.request_id, x.match_counts, x.address_counts, x.tax_periods"
)
_FROM = "current_disclosures d LEFT JOIN disclosure_details x USING (event_id)"


def _counts(value: Any) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((str(k), int(v)) for k, v in (value or {}).items()))


def _facts(row: Sequence[Any]) -> DisclosureFacts:
    return DisclosureFacts(
        event_id=row[0],
        disclosure_id=row[1],
        source_agency=row[2],
        recipient_agency=row[3],
        legal_authority=row[4],
        transmitted_at=row[5],
        day=row[6],
        record_count=int(row[7]),
        match_method=row[8],
        address_verification=row[9],
        notice_id=row[10],
        request_id=row[12],
        match_counts=_counts(row[13]),
        address_counts=_counts(row[14]),
        tax_periods=tuple(str(p) for p in row[15] or ()),
    )


def _standing(
    conn: Connection, condition: str, params: Sequence[Any] | Mapping[str, Any]
) -> list[DisclosureFacts]:
    """The current, not withdrawn disclosures meeting ``condition``, in transmission order."""
    rows = conn.execute(
        f"SELECT {_FACTS} FROM {_FROM} WHERE NOT d.withdrawn AND ({condition})"
        " ORDER BY d.transmitted_at, d.event_id",
        params,
    ).fetchall()
    return [_facts(r) for r in rows]


# The view's transmission time is the latest amendment's or else the original, which no index
# serves: a window first picks candidates by either time through an index (a superset: the
# current time is one of them), then the condition is applied to the current values. Without it
# each window scanned the whole table (30 ms at 30,000 disclosures, growing with the ledger).
_CANDIDATES = (
    "d.event_id IN (SELECT event_id FROM disclosures WHERE {time}"
    " UNION SELECT amends_event_id FROM disclosure_amendments WHERE {time})"
)


def transmitted_between(
    conn: Connection,
    start: datetime,
    end: datetime | None,
    recipients: Iterable[str] | None = None,
) -> list[DisclosureFacts]:
    """Current, not withdrawn disclosures transmitted from ``start`` up to (not at) ``end``
    (no end when None), to ``recipients`` when given; in transmission order."""
    wanted = None if recipients is None else sorted(set(recipients))
    time = "{t} >= %(s)s AND (%(e)s::timestamptz IS NULL OR {t} < %(e)s)"
    return _standing(
        conn,
        f"{_CANDIDATES.format(time=time.format(t='transmitted_at'))}"
        f" AND {time.format(t='d.transmitted_at')}"
        " AND (%(r)s::text[] IS NULL OR d.recipient_agency = ANY(%(r)s))",
        {"s": start, "e": end, "r": wanted},
    )


def transmitted_within(conn: Connection, start: datetime, end: datetime) -> list[DisclosureFacts]:
    """Current, not withdrawn disclosures transmitted from ``start`` to ``end`` inclusive (a
    notice's planned window: hours), in transmission order; callers match the recipient by its
    canonical id, which no spelling in the table gives."""
    time = "{t} BETWEEN %(s)s AND %(e)s"
    return _standing(
        conn,
        f"{_CANDIDATES.format(time=time.format(t='transmitted_at'))}"
        f" AND {time.format(t='d.transmitted_at')}",
        {"s": start, "e": end},
    )


def current_disclosure(conn: Connection, event_id: str) -> tuple[DisclosureFacts, bool] | None:
    """The disclosure recorded by ``event_id`` as it now stands, and whether it is withdrawn."""
    row = conn.execute(
        f"SELECT {_FACTS} FROM {_FROM} WHERE d.event_id = %s", (event_id,)
    ).fetchone()
    return None if row is None else (_facts(row), bool(row[11]))


def citing_request(conn: Connection, request_id: str) -> list[DisclosureFacts]:
    """Current, not withdrawn disclosures that cite ``request_id``, in transmission order."""
    return _standing(conn, "d.request_id = %s", (request_id,))


def amended_event_id(conn: Connection, amended: DisclosureAmended) -> str | None:
    """The DisclosureRecorded an amendment corrects: the one it names by event id, else the
    disclosure id's (to the amendment's recipient first, then the earliest); None if unknown."""
    if amended.amends_event_id:
        row = conn.execute(
            "SELECT event_id::text FROM disclosures WHERE event_id = %s",
            (amended.amends_event_id,),
        ).fetchone()
    else:
        row = conn.execute(
            "SELECT event_id::text FROM disclosures WHERE disclosure_id = %s"
            " ORDER BY recipient_agency = %s DESC, transmitted_at, event_id LIMIT 1",
            (amended.disclosure_id, amended.recipient_agency),
        ).fetchone()
    return None if row is None else str(row[0])


def insert_amendment(
    conn: Connection,
    amended: DisclosureAmended,
    target: str,
    facts: DisclosureFacts,
    withdrawn: bool,
) -> bool:
    """Appends the disclosure's corrected facts after its earlier amendments; False if stored
    before (a redelivery)."""
    row = conn.execute(
        "INSERT INTO disclosure_amendments (event_id, amends_event_id, seq, recipient_agency,"
        " legal_authority, transmitted_at, day, record_count, withdrawn, changes, reason)"
        " SELECT %(e)s, %(t)s, COALESCE(max(seq), 0) + 1, %(rc)s, %(la)s, %(at)s, %(d)s, %(n)s,"
        "  %(w)s, %(c)s, %(why)s FROM disclosure_amendments WHERE amends_event_id = %(t)s"
        " ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
        {
            "e": amended.event_id,
            "t": target,
            "rc": facts.recipient_agency,
            "la": facts.legal_authority,
            "at": facts.transmitted_at,
            "d": facts.day,
            "n": facts.record_count,
            "w": withdrawn,
            "c": event_json(dict(amended.changes)),
            "why": amended.reason,
        },
    ).fetchone()
    return row is not None


def recordings_of(conn: Connection, disclosure_ids: Iterable[str]) -> list[tuple[str, str, str]]:
    """(source agency as sent, disclosure id, event id) of every stored recording of these
    disclosure ids, first recorded first (log, offset): the caller compares sources by id."""
    ids = sorted(set(disclosure_ids))
    if not ids:
        return []
    rows = conn.execute(
        "SELECT source_agency, disclosure_id, event_id::text FROM disclosures"
        " WHERE disclosure_id = ANY(%s) ORDER BY log_id, kafka_offset",
        (ids,),
    ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]
