"""The reads an export bundle needs: which entries a filter selects, streamed, and their alerts.

Everything runs in one REPEATABLE READ, read-only transaction (``snapshot``) so the checkpoints,
entries and alerts of a bundle are one consistent state of the ledger. Entries come through a
server-side cursor in batches, so memory does not grow with the export.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from psycopg import sql
from psycopg.rows import dict_row

from ledger.store.connection import Connection
from ledger.store.entries import named_disclosure


@dataclass(frozen=True)
class Selection:
    """What ``ledger export`` was asked for; None means no constraint.

    Disclosures are chosen by their transmitted day in LEDGER_TIMEZONE (the ``day`` column), and
    by recipient, authority and transmission time; their manifest chunks and amendments follow
    them. Other entry types are chosen by the day of their occurred_at in LEDGER_TIMEZONE, and
    only when no recipient, authority or order narrows the export. ``extra_event_ids`` adds
    entries by id (the order itself). Entries cited by an alert that cites a selected entry are
    added too, so every alert's evidence is in the bundle.
    """

    timezone: str
    since: date | None = None
    until: date | None = None
    recipients: Sequence[str] | None = None
    authorities: Sequence[str] | None = None  # exact stored citations
    transmitted_from: datetime | None = None
    transmitted_before: datetime | None = None
    all_types: bool = True
    extra_event_ids: Sequence[str] = ()

    def params(self) -> dict[str, Any]:
        return {
            "tz": self.timezone,
            "since": self.since,
            "until": self.until,
            "recipients": None if self.recipients is None else list(self.recipients),
            "authorities": None if self.authorities is None else list(self.authorities),
            "t_from": self.transmitted_from,
            "t_before": self.transmitted_before,
            "all_types": self.all_types,
            "extra": list(self.extra_event_ids),
        }


_UUID_RE = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

# sel_d: the disclosures; base: every directly selected entry; cited: alerts citing one of them;
# sel: base plus the entries those alerts cite.
_SELECTION = f"""
WITH sel_d AS (
    SELECT event_id, disclosure_id FROM disclosures
    WHERE (%(since)s::date IS NULL OR day >= %(since)s::date)
      AND (%(until)s::date IS NULL OR day <= %(until)s::date)
      AND (%(recipients)s::text[] IS NULL OR recipient_agency = ANY(%(recipients)s::text[]))
      AND (%(authorities)s::text[] IS NULL OR legal_authority = ANY(%(authorities)s::text[]))
      AND (%(t_from)s::timestamptz IS NULL OR transmitted_at >= %(t_from)s::timestamptz)
      AND (%(t_before)s::timestamptz IS NULL OR transmitted_at < %(t_before)s::timestamptz)
), base AS (
    SELECT e.event_id FROM entries e JOIN sel_d USING (event_id)
    UNION
    SELECT e.event_id FROM entries e
    WHERE e.event_type IN ('DisclosureManifest', 'DisclosureAmended')
      AND {named_disclosure("e")} IN (SELECT disclosure_id FROM sel_d)
    UNION
    SELECT e.event_id FROM entries e
    WHERE %(all_types)s
      AND e.event_type NOT IN ('DisclosureRecorded', 'DisclosureManifest', 'DisclosureAmended')
      AND (%(since)s::date IS NULL
           OR (e.occurred_at AT TIME ZONE %(tz)s)::date >= %(since)s::date)
      AND (%(until)s::date IS NULL
           OR (e.occurred_at AT TIME ZONE %(tz)s)::date <= %(until)s::date)
    UNION
    SELECT event_id FROM entries WHERE event_id = ANY(%(extra)s::uuid[])
), cited AS (
    SELECT DISTINCT a.alert_id FROM alerts a, unnest(a.evidence) ev
    WHERE ev ~ '{_UUID_RE}' AND ev::uuid IN (SELECT event_id FROM base)
), sel AS (
    SELECT event_id FROM base
    UNION
    SELECT ev::uuid FROM alerts a, unnest(a.evidence) ev
    WHERE a.alert_id IN (SELECT alert_id FROM cited) AND ev ~ '{_UUID_RE}'
)
"""


@contextmanager
def snapshot(conn: Connection) -> Iterator[Connection]:
    """One consistent, read-only view of the ledger for the whole export."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield conn


@dataclass(frozen=True)
class ExportRow:
    log_id: str
    seq: int
    kafka_offset: int
    event_id: str
    event_type: str
    value: bytes
    leaf_hash: bytes
    body: str  # the JSON rendering (for redacted records)


def iter_selected(
    conn: Connection, selection: Selection, batch: int = 2000
) -> Iterator[list[ExportRow]]:
    """The selected entries in (log, seq) order, ``batch`` rows at a time (server-side cursor)."""
    query = (
        _SELECTION
        + "SELECT e.log_id, e.seq, e.kafka_offset, e.event_id::text, e.event_type, e.value,"
        " e.leaf_hash, e.body FROM entries e JOIN sel USING (event_id)"
        " ORDER BY e.log_id, e.seq"
    )
    with conn.cursor(name="ledger_export") as cur:
        cur.itersize = batch
        cur.execute(query, selection.params())
        while rows := cur.fetchmany(batch):
            yield [
                ExportRow(str(a), int(b), int(c), str(d), str(e), bytes(f), bytes(g), str(h))
                for a, b, c, d, e, f, g, h in rows
            ]


# An alert's status history as the bundle states it (and the bundle's signature covers): every
# status change and every acknowledgement, in the order they were stored.
_HISTORY = """,
 (SELECT coalesce(jsonb_agg(jsonb_build_object('seq', c.seq, 'status', c.status,
         'reason', c.reason, 'caused_by', c.caused_by, 'at', c.at) ORDER BY c.seq), '[]')
    FROM alert_status_changes c WHERE c.alert_id = a.alert_id) AS status_changes,
 (SELECT coalesce(jsonb_agg(jsonb_build_object('event_id', k.event_id::text,
         'acknowledged_by', k.acknowledged_by, 'note', k.note, 'at', k.acknowledged_at)
         ORDER BY k.acknowledged_at, k.event_id), '[]')
    FROM acknowledgements k WHERE k.alert_id = a.alert_id) AS acknowledgements"""


def selected_alerts(conn: Connection, selection: Selection) -> list[dict[str, Any]]:
    """Every alert whose evidence names a directly selected entry, oldest day first, with its
    current status and its status history."""
    query = (
        _SELECTION
        + "SELECT a.alert_id::text, rule, severity, scope, day, observed, threshold, evidence,"
        " legal_source, message, fired_at, s.status"
        + _HISTORY
        + " FROM alerts a JOIN alert_status s USING (alert_id)"
        " WHERE a.alert_id IN (SELECT alert_id FROM cited) ORDER BY day, rule, a.alert_id"
    )
    with conn.cursor(row_factory=dict_row) as cur:
        return list(cur.execute(query, selection.params()).fetchall())


def alerts_by_id(conn: Connection, alert_ids: set[str]) -> list[dict[str, Any]]:
    """These alerts, as ``selected_alerts`` gives them (a finding_contested alert cites the
    alert it contests: the bundle carries that one too)."""
    if not alert_ids:
        return []
    query = (
        "SELECT a.alert_id::text, rule, severity, scope, day, observed, threshold, evidence,"
        " legal_source, message, fired_at, s.status"
        + _HISTORY
        + " FROM alerts a JOIN alert_status s USING (alert_id)"
        " WHERE a.alert_id = ANY(%s::uuid[]) ORDER BY day, rule, a.alert_id"
    )
    with conn.cursor(row_factory=dict_row) as cur:
        return list(cur.execute(query, (sorted(alert_ids),)).fetchall())


def daily_counts(conn: Connection, selection: Selection) -> list[dict[str, Any]]:
    """Disclosures and records per day, recipient and authority of the selected disclosures."""
    query = _SELECTION + (
        "SELECT d.day, d.recipient_agency AS recipient, d.legal_authority AS authority,"
        " count(*) AS disclosures, sum(d.record_count)::bigint AS records"
        " FROM disclosures d JOIN sel_d USING (event_id)"
        " GROUP BY d.day, d.recipient_agency, d.legal_authority ORDER BY 1, 2, 3"
    )
    with conn.cursor(row_factory=dict_row) as cur:
        return list(cur.execute(query, selection.params()).fetchall())


def court_order(conn: Connection, order_id: str) -> tuple[str, dict[str, Any]] | None:
    """(event id, stored record) of the latest recorded order with this id."""
    row = conn.execute(
        sql.SQL(
            "SELECT o.event_id::text, o.record FROM court_orders o"
            " JOIN entries e USING (event_id) WHERE o.order_id = %s"
            " ORDER BY e.recorded_at DESC LIMIT 1"
        ),
        (order_id,),
    ).fetchone()
    return None if row is None else (str(row[0]), dict(row[1]))
