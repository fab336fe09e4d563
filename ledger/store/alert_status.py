"""The alert lifecycle in the database: each alert's status changes, appended, never edited.

``alert_status_changes`` (migration 007) holds one row per change; an alert without one is open.
The view ``alert_status`` gives each alert's current status.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from ledger.rules.judge_contest import CONTESTED_PREFIX
from ledger.rules.lifecycle import StatusChange, StoredAlert
from ledger.rules.model import Scope
from ledger.rules.volume_book import ScopeKey
from ledger.store.connection import Connection


def current_status(conn: Connection, alert_id: str) -> tuple[str, str] | None:
    """(status, reason) of one alert now; None when the ledger holds no such alert."""
    row = conn.execute(
        "SELECT status, coalesce(status_reason, '') FROM alert_status WHERE alert_id = %s",
        (alert_id,),
    ).fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


def record_changes(conn: Connection, changes: Sequence[StatusChange]) -> list[StatusChange]:
    """Appends the changes in order; returns those not stored before (redelivery stores none)."""
    fresh = []
    for c in changes:
        row = conn.execute(
            "INSERT INTO alert_status_changes"
            " (alert_id, seq, status, event_id, reason, caused_by, at)"
            " SELECT %(a)s, COALESCE(max(seq), 0) + 1, %(s)s, %(e)s, %(r)s, %(c)s, %(t)s"
            "   FROM alert_status_changes WHERE alert_id = %(a)s"
            " ON CONFLICT (event_id) DO NOTHING RETURNING alert_id",
            {
                "a": c.alert_id,
                "s": c.status,
                "e": c.event_id,
                "r": c.reason,
                "c": c.caused_by,
                "t": c.at,
            },
        ).fetchone()
        if row is not None:
            fresh.append(c)
    return fresh


def alerts_about(
    conn: Connection, rules: Sequence[str], event_ids: Iterable[str]
) -> list[StoredAlert]:
    """Alerts of ``rules`` about these disclosures (the first event of their evidence)."""
    ids = sorted(set(event_ids))
    if not ids:
        return []
    rows = conn.execute(
        "SELECT a.alert_id::text, a.rule, s.status, a.day, a.scope_kind, a.scope_source,"
        " a.scope_value, s.status_reason FROM alerts a JOIN alert_status s USING (alert_id)"
        " WHERE a.evidence[1] = ANY(%s) AND a.rule = ANY(%s) ORDER BY a.alert_id",
        (ids, list(rules)),
    ).fetchall()
    return [_stored(r) for r in rows]


def _stored(r: Sequence[object]) -> StoredAlert:
    kind, source, value = r[4], r[5], r[6]
    scope = Scope(str(kind), str(source), str(value)) if kind and source is not None else None
    day = r[3] if isinstance(r[3], date) else None
    contested = str(r[7] or "").startswith(CONTESTED_PREFIX)
    return StoredAlert(str(r[0]), str(r[1]), str(r[2]), scope, day, contested)


def alerts_on_days(
    conn: Connection, rule: str, key: ScopeKey, first: date, last: date, *, status: str | None
) -> list[tuple[StoredAlert, date]]:
    """Alerts of ``rule`` on scope ``key`` for days ``first`` to ``last``, with their days;
    only those of ``status`` when given."""
    rows = conn.execute(
        "SELECT a.alert_id::text, a.rule, s.status, a.day, a.scope_kind, a.scope_source,"
        " a.scope_value, s.status_reason FROM alerts a"
        " JOIN alert_status s USING (alert_id)"
        " WHERE a.rule = %s AND a.scope_kind = %s AND a.scope_source = %s AND a.scope_value = %s"
        "   AND a.day BETWEEN %s AND %s AND (%s::text IS NULL OR s.status = %s)"
        " ORDER BY a.day, a.alert_id",
        (rule, *key, first, last, status, status),
    ).fetchall()
    return [(_stored(r), r[3]) for r in rows]
