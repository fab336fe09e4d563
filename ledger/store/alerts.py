"""Stores alerts once each (deterministic ids) and reads them back for people and scripts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from psycopg.rows import dict_row

from ledger.rules.model import AlertDraft
from ledger.store.connection import Connection

_COLUMNS = (
    "alert_id, rule, severity, scope, day, observed, threshold, evidence, legal_source, message"
)


def insert_new_alerts(conn: Connection, drafts: Sequence[AlertDraft]) -> list[AlertDraft]:
    """Inserts the drafts in one statement; returns only those not stored before (redelivery, replay)."""
    if not drafts:
        return []
    unique = {d.alert_id: d for d in drafts}
    ds = list(unique.values())
    rows = conn.execute(
        f"INSERT INTO alerts ({_COLUMNS})"
        " SELECT a, r, s, sc, d, o, t, string_to_array(e, chr(31)), l, m FROM unnest("
        "  %s::uuid[], %s::text[], %s::text[], %s::text[], %s::date[], %s::bigint[], %s::bigint[],"
        "  %s::text[], %s::text[], %s::text[]) AS x(a, r, s, sc, d, o, t, e, l, m)"
        " ON CONFLICT (alert_id) DO NOTHING RETURNING alert_id::text",
        (
            [d.alert_id for d in ds],
            [d.rule for d in ds],
            [str(d.severity) for d in ds],
            [d.scope for d in ds],
            [d.day for d in ds],
            [d.observed for d in ds],
            [d.threshold for d in ds],
            # Evidence lists travel as unit-separator-joined text: unnest cannot carry ragged arrays.
            ["\x1f".join(d.evidence) for d in ds],
            [d.legal_source for d in ds],
            [d.message for d in ds],
        ),
    ).fetchall()
    fresh = {r[0] for r in rows}
    return [d for d in ds if d.alert_id in fresh]


def alert_citing(conn: Connection, rule: str, event_id: str) -> dict[str, object] | None:
    """The first alert of ``rule`` whose evidence names ``event_id`` (scope order), as a dict."""
    cur = conn.cursor(row_factory=dict_row)
    return cur.execute(
        "SELECT * FROM alerts WHERE rule = %s AND %s = ANY(evidence) ORDER BY scope LIMIT 1",
        (rule, event_id),
    ).fetchone()


def alert_lines(conn: Connection) -> list[tuple[date, str, str, str]]:
    """(day, rule, severity, message) of every alert in the order they fired."""
    return conn.execute(
        "SELECT day, rule, severity, message FROM alerts ORDER BY fired_at, day, alert_id"
    ).fetchall()
