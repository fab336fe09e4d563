"""Stores alerts once each (deterministic ids), raises ``alert_flood`` when one source's alerts
of a day pass its threshold (ledger/rules/alert_flood.py), and reads them back for people and
scripts (the listing itself, newest first and paged: ledger/store/alert_pages.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from psycopg import sql
from psycopg.rows import dict_row

from ledger.rules import alert_flood
from ledger.rules.model import AlertDraft, LogScope, Scope, alert_id
from ledger.store.connection import Connection
from ledger.store.event_rows import column_arrays

_COLUMNS = (
    "alert_id, rule, severity, scope, scope_kind, scope_source, scope_value, day, observed,"
    " threshold, evidence, legal_source, message"
)


def _parts(scope: Scope | LogScope) -> tuple[str | None, str | None, str | None]:
    """(scope_kind, scope_source, scope_value): a volume scope's parts; NULLs for anything else."""
    if isinstance(scope, Scope):
        return scope.kind, scope.source, scope.value
    return None, None, None


def insert_new_alerts(conn: Connection, drafts: Sequence[AlertDraft]) -> list[AlertDraft]:
    """Inserts the drafts in one statement; returns only those not stored before (redelivery,
    replay), with the ``alert_flood`` alerts they caused, stored too."""
    fresh = _insert(conn, drafts)
    floods = _insert(conn, _floods(conn, fresh))
    return fresh + floods


def _floods(conn: Connection, fresh: Sequence[AlertDraft]) -> list[AlertDraft]:
    """The flood alerts due now: one per (source or log, day) of ``fresh`` whose stored alerts
    number more than the threshold (``_insert`` drops those raised before)."""
    groups: dict[tuple[str, date], tuple[Scope | LogScope, list[str]]] = {}
    for d in fresh:
        if d.rule == alert_flood.RULE:
            continue
        scope = alert_flood.flood_scope(d.scope)
        _, evidence = groups.setdefault((str(scope), d.day), (scope, []))
        evidence.extend(d.evidence[:1])
    if groups:  # a flood already raised is not counted again (a day of a flood has many)
        ids = {alert_id(alert_flood.RULE, scope, key[1]): key for key, (scope, _) in groups.items()}
        raised = conn.execute(
            "SELECT alert_id::text FROM alerts WHERE alert_id = ANY(%s::uuid[])", (list(ids),)
        ).fetchall()
        for (found,) in raised:
            del groups[ids[found]]
    if not groups:
        return []
    keys = list(groups)
    # A volume scope's source is in scope_source; a log scope is its own text (no parts).
    counted = conn.execute(
        "SELECT g.i, (SELECT count(*) FROM alerts a WHERE a.day = g.d AND a.rule <> %s"
        "   AND (CASE WHEN g.by_source THEN a.scope_source = g.s ELSE a.scope = g.s END))"
        " FROM unnest(%s::int[], %s::text[], %s::date[], %s::bool[]) AS g(i, s, d, by_source)",
        (
            alert_flood.RULE,
            list(range(len(keys))),
            [s.source if isinstance(s, Scope) else str(s) for s, _ in (groups[k] for k in keys)],
            [k[1] for k in keys],
            [isinstance(groups[k][0], Scope) for k in keys],
        ),
    ).fetchall()
    out = []
    for i, count in counted:
        if count > alert_flood.FLOOD_THRESHOLD:
            scope, evidence = groups[keys[i]]
            out.append(alert_flood.flood_alert(scope, keys[i][1], int(count), evidence))
    return out


def _insert(conn: Connection, drafts: Sequence[AlertDraft]) -> list[AlertDraft]:
    if not drafts:
        return []
    unique = {d.alert_id: d for d in drafts}
    ds = list(unique.values())
    parts = [_parts(d.scope) for d in ds]
    rows = conn.execute(
        f"INSERT INTO alerts ({_COLUMNS})"
        " SELECT a, r, s, sc, sk, ss, sv, d, o, t, string_to_array(e, chr(31)), l, m FROM unnest("
        "  %s::uuid[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],"
        "  %s::date[], %s::bigint[], %s::bigint[], %s::text[], %s::text[], %s::text[])"
        "  AS x(a, r, s, sc, sk, ss, sv, d, o, t, e, l, m)"
        " ON CONFLICT (alert_id) DO NOTHING RETURNING alert_id::text",
        (
            *column_arrays(ds, "alert_id", "rule"),
            [str(d.severity) for d in ds],
            [str(d.scope) for d in ds],
            [p[0] for p in parts],
            [p[1] for p in parts],
            [p[2] for p in parts],
            *column_arrays(ds, "day", "observed", "threshold"),
            # Evidence lists travel as unit-separator-joined text: unnest cannot carry ragged arrays.
            ["\x1f".join(d.evidence) for d in ds],
            *column_arrays(ds, "legal_source", "message"),
        ),
    ).fetchall()
    fresh = {r[0] for r in rows}
    return [d for d in ds if d.alert_id in fresh]


def alerts_in_scope(
    conn: Connection,
    kind: str,
    source: str | None = None,
    value: str | None = None,
    *,
    rule: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Alerts on volume scopes of ``kind`` ("recipient", "authority", "pair" or "source"), newest day
    first, as dicts; ``source``, ``value`` and ``rule`` narrow them when given.

    Matches the scope's stored parts (migration 005), never its text. For instance the latest
    prior-year spike on any recipient: ``alerts_in_scope(conn, "recipient",
    rule="spike_over_prior_year", limit=1)``, whose ``scope_value`` is the recipient.
    """
    where = [sql.SQL("scope_kind = %(kind)s")]
    if source is not None:
        where.append(sql.SQL("scope_source = %(source)s"))
    if value is not None:
        where.append(sql.SQL("scope_value = %(value)s"))
    if rule is not None:
        where.append(sql.SQL("rule = %(rule)s"))
    query = sql.SQL(
        "SELECT alert_id::text, rule, severity, scope, scope_kind, scope_source, scope_value, day,"
        " observed, threshold, evidence, legal_source, message, fired_at"
        " FROM alerts WHERE {} ORDER BY day DESC, alert_id LIMIT %(limit)s"
    ).format(sql.SQL(" AND ").join(where))
    params = {"kind": kind, "source": source, "value": value, "rule": rule, "limit": limit}
    with conn.cursor(row_factory=dict_row) as cur:
        return list(cur.execute(query, params).fetchall())


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
