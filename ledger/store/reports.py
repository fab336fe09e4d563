"""What the reports read: (p)(3)(C) tallies for a year; a court order, the alerts about what it
covered and when the ledger received its entries. The aggregation itself is pure (``ledger.rules.reports``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from ledger.events import CourtOrderRecorded
from ledger.rules.judge_contest import CONTESTED_PREFIX
from ledger.rules.model import DisclosureFacts, NoticeFacts
from ledger.rules.order_verdicts import StoredVerdict
from ledger.rules.reports import DisclosureTally, RequestTally, refs_note, withheld_from_individual
from ledger.store.entries import named_disclosure

# Which disclosure a DisclosureManifest chunk completes: the DisclosureRecorded of the same
# disclosure id on the same log (both are keyed by recipient), sent by the same writer
# (recorded_by: the source's system), the nearest before the chunk in log order, else the nearest
# after. Never by disclosure id alone: two sources may reuse one. {chunks} narrows the chunks.
CHUNK_OWNERS = (
    "chunk_owner AS MATERIALIZED (SELECT m.event_id AS chunk, (SELECT o.event_id FROM disclosures o"
    "   JOIN entries oe ON oe.event_id = o.event_id"
    f"   WHERE o.disclosure_id = {named_disclosure('m')} AND o.log_id = m.log_id"
    "   AND (oe.body::jsonb) ->> 'recorded_by' = (m.body::jsonb) ->> 'recorded_by'"
    "   ORDER BY o.kafka_offset > m.kafka_offset, abs(o.kafka_offset - m.kafka_offset) LIMIT 1)"
    "   AS owner FROM entries m WHERE m.event_type = 'DisclosureManifest' {chunks})"
)
_IN_YEAR = "d.day BETWEEN %(first)s AND %(last)s AND (%(sources)s::text[] IS NULL OR d.source_agency = ANY(%(sources)s))"


def p3c_disclosures(
    conn: psycopg.Connection, first: date, last: date, sources: list[str] | None = None
) -> list[DisclosureTally]:
    """Disclosures per recipient and cited authority on days ``first`` .. ``last`` (the days are
    in LEDGER_TIMEZONE), of ``sources`` (every spelling; None for all), as first recorded;
    ``disclosures`` is records x tax periods (at least one). Beside them: how many were amended
    or withdrawn and their records as amended, and the taxpayer refs the transmissions list."""
    params = {"first": first, "last": last, "sources": sources}
    rows = conn.execute(
        "SELECT d.recipient_agency, d.legal_authority, count(*), sum(d.record_count),"
        " sum(d.record_count * greatest(1, coalesce(jsonb_array_length(x.tax_periods), 1))),"
        " count(*) FILTER (WHERE c.withdrawn OR (c.day, c.recipient_agency, c.legal_authority,"
        "   c.record_count) IS DISTINCT FROM (d.day, d.recipient_agency, d.legal_authority,"
        "   d.record_count)),"
        " sum(CASE WHEN c.withdrawn THEN 0 ELSE c.record_count END)"
        " FROM disclosures d JOIN current_disclosures c USING (event_id)"
        " LEFT JOIN disclosure_details x USING (event_id)"
        f" WHERE {_IN_YEAR} GROUP BY 1, 2",
        params,
    ).fetchall()
    chunks = f"AND {named_disclosure('m')} IN (SELECT disclosure_id FROM yr)"
    listed = {
        (r[0], r[1]): (int(r[2]), frozenset(r[3]))
        for r in conn.execute(
            "WITH yr AS MATERIALIZED (SELECT d.event_id, d.disclosure_id, d.recipient_agency,"
            f"   d.legal_authority FROM disclosures d WHERE {_IN_YEAR}),"
            f" {CHUNK_OWNERS.format(chunks=chunks)},"
            # Each listed ref by the disclosure it belongs to: its own refs, its chunks' refs.
            " listed AS MATERIALIZED (SELECT t.event_id AS owner, t.ref FROM taxpayer_refs t"
            "   JOIN yr ON yr.event_id = t.event_id UNION ALL SELECT c.owner, t.ref"
            "   FROM chunk_owner c JOIN taxpayer_refs t ON t.event_id = c.chunk"
            "   WHERE c.owner IS NOT NULL)"
            " SELECT yr.recipient_agency, yr.legal_authority, count(DISTINCT yr.event_id),"
            " array_agg(DISTINCT l.ref) FROM yr JOIN listed l ON l.owner = yr.event_id"
            " GROUP BY 1, 2",
            params,
        )
    }
    tallies = []
    for r in rows:
        with_refs, refs = listed.get((r[0], r[1]), (0, frozenset()))
        tallies.append(
            DisclosureTally(
                r[0],
                r[1],
                int(r[2]),
                int(r[3]),
                int(r[4]),
                amended=int(r[5]),
                records_as_amended=int(r[6]),
                unlisted=int(r[2]) - with_refs,
                refs=refs,
            )
        )
    return tallies


def source_spellings(conn: psycopg.Connection) -> list[str]:
    """Every source_agency text of the stored disclosures and requests."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT source_agency FROM disclosures UNION SELECT source_agency FROM requests"
        )
    ]


def p3c_requests(
    conn: psycopg.Connection, start: datetime, end: datetime, sources: list[str] | None = None
) -> list[RequestTally]:
    """Requests received in [start, end) per recipient and cited authority (made to one of
    ``sources``, None for every source)."""
    rows = conn.execute(
        "SELECT recipient_agency, legal_authority, count(*) FROM requests"
        " WHERE received_at >= %s AND received_at < %s"
        " AND (%s::text[] IS NULL OR source_agency = ANY(%s)) GROUP BY 1, 2",
        (start, end, sources, sources),
    ).fetchall()
    return [RequestTally(r[0], r[1], int(r[2])) for r in rows]


def court_order(conn: psycopg.Connection, order_id: str) -> CourtOrderRecorded | None:
    """The order recorded under ``order_id`` (the latest recorded, if it was recorded twice)."""
    row = conn.execute(
        "SELECT record FROM court_orders WHERE order_id = %s ORDER BY effective_at DESC LIMIT 1",
        (order_id,),
    ).fetchone()
    return CourtOrderRecorded.from_json(row[0]) if row else None


def order_alerts(
    conn: psycopg.Connection, rule: str, order_event_id: str, event_ids: Sequence[str]
) -> dict[str, StoredVerdict]:
    """The stored alerts of ``rule`` about these transmissions under the order recorded as
    ``order_event_id`` (their evidence: the transmission, then the order), by transmission
    event id, with their current status; 'contested' when a later fact contested them."""
    if not event_ids:
        return {}
    rows = conn.execute(
        "SELECT a.evidence[1], a.alert_id::text, s.status, s.status_reason FROM alerts a"
        " JOIN alert_status s USING (alert_id)"
        " WHERE a.rule = %s AND a.evidence[2] = %s AND a.evidence[1] = ANY(%s)"
        " ORDER BY a.alert_id",
        (rule, order_event_id, list(event_ids)),
    ).fetchall()
    found: dict[str, StoredVerdict] = {}
    for event_id, alert_id, status, reason in rows:
        contested = status == "open" and str(reason or "").startswith(CONTESTED_PREFIX)
        found[str(event_id)] = StoredVerdict(
            str(alert_id), "contested" if contested else str(status), reason
        )
    return found


def received_at(conn: psycopg.Connection, event_ids: Iterable[str]) -> dict[str, datetime]:
    """When each entry reached the ledger (its Kafka record time), by event id."""
    ids = sorted(set(event_ids))
    if not ids:
        return {}
    rows = conn.execute(
        "SELECT event_id::text, recorded_at FROM entries WHERE event_id = ANY(%s::uuid[])", (ids,)
    ).fetchall()
    return {str(e): t for e, t in rows}


def orders_of_types(conn: psycopg.Connection, types: Sequence[str]) -> list[str]:
    """The order ids of the recorded orders of these types, in the order they took effect."""
    rows = conn.execute(
        "SELECT order_id FROM court_orders WHERE order_type = ANY(%s)"
        " GROUP BY order_id ORDER BY min(effective_at), order_id",
        (list(types),),
    ).fetchall()
    return [str(r[0]) for r in rows]


def amendment_events(conn: psycopg.Connection, disclosure_ids: Iterable[str]) -> list[str]:
    """The event ids of every DisclosureAmended entry naming one of these disclosure ids."""
    ids = sorted(set(disclosure_ids))
    if not ids:
        return []
    rows = conn.execute(
        "SELECT event_id::text FROM entries WHERE event_type = 'DisclosureAmended'"
        f" AND {named_disclosure()} = ANY(%s) ORDER BY 1",
        (ids,),
    ).fetchall()
    return [str(r[0]) for r in rows]


def order_notices(conn: psycopg.Connection, case_reference: str) -> list[NoticeFacts]:
    """Every notice filed in this case, oldest filing first."""
    rows = conn.execute(
        "SELECT record FROM notices WHERE case_reference = %s", (case_reference,)
    ).fetchall()
    found = [NoticeFacts.from_record(r[0]) for r in rows]
    return sorted(found, key=lambda n: (n.filed_at, n.event_id))
    return [DisclosureFacts(*r) for r in rows]


def accounting(conn: psycopg.Connection, ref: str) -> list[dict[str, Any]]:
    """Privacy Act accounting: every disclosure whose own refs or manifest chunks (joined by
    ``CHUNK_OWNERS``: event and writer, not disclosure id alone) list this keyed ref, with its
    source, the recipient's address (the disclosure's, else its request's), the tax periods,
    how many taxpayers its refs list and whether that reconciles with its record_count, and
    whether the entry is withheld from the individual; each disclosure as its amendments left
    it, beside what was first recorded; a withdrawn one stays, marked: the accounting was owed
    when the disclosure was made."""
    chunks = (
        f"AND {named_disclosure('m')} IN"
        " (SELECT disclosure_id FROM taxpayer_refs WHERE ref = %(ref)s)"
    )
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            f"WITH {CHUNK_OWNERS.format(chunks=chunks)},"
            " mine AS (SELECT event_id FROM taxpayer_refs WHERE ref = %(ref)s),"
            " owners AS (SELECT o.event_id FROM mine JOIN disclosures o USING (event_id)"
            "   UNION SELECT c.owner FROM mine JOIN chunk_owner c ON c.chunk = mine.event_id"
            "   WHERE c.owner IS NOT NULL)"
            " SELECT d.day, d.transmitted_at, d.source_agency, d.recipient_agency,"
            " d.legal_authority, d.purpose, d.nature, d.disclosure_id, d.event_id::text,"
            " d.record_count, d.withdrawn,"
            " (o.day, o.recipient_agency, o.legal_authority, o.record_count)"
            "   IS DISTINCT FROM (d.day, d.recipient_agency, d.legal_authority, d.record_count)"
            "   AS amended, o.day AS first_day, o.recipient_agency AS first_recipient_agency,"
            " o.legal_authority AS first_legal_authority, o.record_count AS first_record_count,"
            " coalesce(x.recipient_address, r.address) AS recipient_address,"
            " coalesce(x.tax_periods, '[]'::jsonb) AS tax_periods,"
            " (SELECT count(DISTINCT z.ref) FROM (SELECT t.ref FROM taxpayer_refs t"
            "   WHERE t.event_id = w.event_id UNION ALL SELECT t.ref FROM chunk_owner c"
            "   JOIN taxpayer_refs t ON t.event_id = c.chunk WHERE c.owner = w.event_id) z)"
            "   AS listed_taxpayers"
            " FROM owners w JOIN current_disclosures d ON d.event_id = w.event_id"
            " JOIN disclosures o ON o.event_id = w.event_id"
            " LEFT JOIN disclosure_details x ON x.event_id = w.event_id"
            " LEFT JOIN LATERAL (SELECT q.record ->> 'recipient_address' AS address FROM requests q"
            "   WHERE q.request_id = d.request_id ORDER BY q.received_at DESC LIMIT 1) r ON true"
            " ORDER BY d.transmitted_at, d.event_id",
            {"ref": ref},
        )
        rows = list(cur.fetchall())
    for row in rows:
        row["withheld_from_individual"] = withheld_from_individual(row["legal_authority"])
        # A ref is one taxpayer's record: the list is checked against the first-recorded count
        # (what was sent), the note names the gap.
        note = refs_note(int(row["listed_taxpayers"]), int(row["first_record_count"]))
        row["refs_reconcile"] = note is None
        row["refs_note"] = note
    return rows


def unlisted(conn: psycopg.Connection) -> tuple[int, int]:
    """How many disclosures (and their records, as first recorded) list no taxpayer at all,
    neither in the event nor in a manifest chunk: an accounting cannot check them."""
    row = conn.execute(
        f"WITH {CHUNK_OWNERS.format(chunks='')}"
        " SELECT count(*), coalesce(sum(d.record_count), 0) FROM disclosures d"
        " WHERE NOT EXISTS (SELECT 1 FROM taxpayer_refs t WHERE t.event_id = d.event_id)"
        " AND NOT EXISTS (SELECT 1 FROM chunk_owner c WHERE c.owner = d.event_id)"
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)
