"""Read-only queries for officials: disclosures, daily volume, alerts, notices, orders, entries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from psycopg import sql
from psycopg.rows import class_row, dict_row

from ledger.rules.lifecycle import STATUSES
from ledger.store.connection import Connection
from ledger.store.query_rows import DisclosureRow, FirstDayRow, VolumeDayRow, WarmingUpSource


@dataclass(frozen=True)
class DisclosureFilter:
    """Each of recipient, authority and source: one text, or every spelling to match."""

    recipient: str | Sequence[str] | None = None
    authority: str | Sequence[str] | None = None
    source: str | Sequence[str] | None = None
    since: date | None = None
    until: date | None = None
    limit: int = 100
    offset: int = 0


# A loose index scan: each distinct value by one index probe, not a pass over every row.
_SPELLINGS = {
    column: sql.SQL(
        "WITH RECURSIVE r(v) AS (SELECT min({c}) FROM disclosures UNION ALL"
        " SELECT (SELECT min({c}) FROM disclosures WHERE {c} > r.v) FROM r WHERE r.v IS NOT NULL)"
        " SELECT v FROM r WHERE v IS NOT NULL"
    ).format(c=sql.Identifier(column))
    for column in ("recipient_agency", "legal_authority")
}


def spellings(conn: Connection, column: str) -> list[str]:
    """Every distinct recipient_agency or legal_authority text of the disclosures table."""
    return [r[0] for r in conn.execute(_SPELLINGS[column])]


def disclosures(conn: Connection, f: DisclosureFilter) -> tuple[list[DisclosureRow], int]:
    """Matching disclosures (newest first) and the total count, for paging."""
    conditions = {
        "recipient": "recipient_agency = ANY(%(recipient)s)",
        "authority": "legal_authority = ANY(%(authority)s)",
        "source": "source_agency = ANY(%(source)s)",
        "since": "day >= %(since)s",
        "until": "day <= %(until)s",
    }
    given: dict[str, Any] = {}
    for name in ("recipient", "authority", "source"):
        value = getattr(f, name)
        if isinstance(value, str):
            if value:
                given[name] = [value]
        elif value is not None:  # spellings: none at all matches nothing
            given[name] = list(value)
    given |= {name: getattr(f, name) for name in ("since", "until") if getattr(f, name)}
    where = ["TRUE", *(conditions[name] for name in given)]
    params: dict[str, Any] = {"limit": f.limit, "offset": f.offset, **given}
    clause = " AND ".join(where)
    with conn.cursor(row_factory=class_row(DisclosureRow)) as cur:
        cur.execute(
            "SELECT event_id::text, disclosure_id, day, transmitted_at, source_agency,"
            " recipient_agency, legal_authority, purpose, nature, record_count, match_method,"
            " address_verification, notice_id, log_id, kafka_offset"
            f" FROM disclosures WHERE {clause}"
            " ORDER BY transmitted_at DESC, event_id LIMIT %(limit)s OFFSET %(offset)s",
            params,
        )
        rows = list(cur.fetchall())
    total = conn.execute(f"SELECT count(*) FROM disclosures WHERE {clause}", params).fetchone()
    return rows, int(total[0]) if total else 0


def volume_series(
    conn: Connection,
    kind: str,
    source: str | None,
    value: str | None,
    since: date | None,
    until: date | None,
    limit: int | None = None,
    offset: int = 0,
) -> list[VolumeDayRow]:
    """Daily totals for one scope kind, with each day's prior-365-day sum beside it.

    ``records`` and ``disclosures`` are as first recorded (they only count up, and the rules
    judge them); ``*_as_amended`` are what the discloser's amendments and withdrawals would
    leave (docs/history.md).

    ``limit``/``offset`` page through the days in order (the prior-year sums still see every day).
    """
    where = ["scope_kind = %(kind)s"]
    params: dict[str, Any] = {
        "kind": kind,
        "source": source,
        "value": value,
        "since": since,
        "until": until,
        "limit": limit,
        "offset": offset,
    }
    if source:
        where.append("source_agency = %(source)s")
    if value is not None and kind != "source":
        where.append("scope_value = %(value)s")
    clause = " AND ".join(where)
    outer = []
    if since:
        outer.append("day >= %(since)s")
    if until:
        outer.append("day <= %(until)s")
    outer_clause = ("WHERE " + " AND ".join(outer)) if outer else ""
    with conn.cursor(row_factory=class_row(VolumeDayRow)) as cur:
        cur.execute(
            "SELECT * FROM ("
            " SELECT day, source_agency, scope_value, v.disclosures, v.records,"
            "  COALESCE(sum(v.records) OVER (PARTITION BY source_agency, scope_value ORDER BY day"
            "   RANGE BETWEEN '365 days' PRECEDING AND '1 day' PRECEDING), 0)::bigint AS prior_365_records,"
            "  v.disclosures + COALESCE(a.disclosures, 0) AS disclosures_as_amended,"
            "  v.records + COALESCE(a.records, 0) AS records_as_amended"
            " FROM daily_volume v LEFT JOIN daily_volume_amended a"
            "  USING (scope_kind, source_agency, scope_value, day)"
            f" WHERE {clause}) s {outer_clause}"
            " ORDER BY day, source_agency, scope_value LIMIT %(limit)s OFFSET %(offset)s",
            params,
        )
        return list(cur.fetchall())


ALERT_STATUSES = (*STATUSES, "all")


def _status_where(status: str | None) -> str | None:
    """The condition for alerts of ``status`` ("open", "resolved"; "all" or None for every one)."""
    if status in (None, "all"):
        return None
    if status not in ALERT_STATUSES:
        raise ValueError(f"status must be one of {', '.join(ALERT_STATUSES)}")
    return "s.status = %(status)s"


def alerts(
    conn: Connection,
    rule: str | None = None,
    since: date | None = None,
    limit: int = 200,
    kind: str | None = None,
    value: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Alerts in the order they fired, each with its status (open or resolved, and why);
    ``kind`` and ``value`` narrow them to volume scopes by their stored parts (e.g. kind "pair",
    value "ICE under 6103(i)(2)"), ``status`` to "open" or "resolved" ones."""
    where = ["TRUE"]
    if rule:
        where.append("rule = %(rule)s")
    if since:
        where.append("day >= %(since)s")
    if kind:
        where.append("scope_kind = %(kind)s")
    if value is not None:
        where.append(
            "(scope_value = %(value)s OR (scope_kind = 'source' AND scope_source = %(value)s))"
        )
    by_status = _status_where(status)
    if by_status:
        where.append(by_status)
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT alert_id::text, rule, severity, scope, scope_kind, scope_source, scope_value,"
            " day, observed, threshold, evidence, legal_source, message, fired_at, s.status,"
            " s.status_reason,"
            " COALESCE((SELECT string_agg(s.endpoint || ':' || s.outcome, ', ' ORDER BY s.endpoint)"
            "   FROM alert_delivery_status s WHERE s.alert_id = a.alert_id), '') AS delivery,"
            " COALESCE((SELECT string_agg(k.acknowledged_by, ', ' ORDER BY k.acknowledged_at)"
            "   FROM acknowledgements k WHERE k.alert_id = a.alert_id), '') AS acknowledged_by"
            " FROM alerts a JOIN alert_status s USING (alert_id)"
            f" WHERE {' AND '.join(where)} ORDER BY fired_at, day, alert_id LIMIT %(limit)s",
            {
                "rule": rule,
                "since": since,
                "limit": limit,
                "kind": kind,
                "value": value,
                "status": status,
            },
        )
        return list(cur.fetchall())


def first_seen(conn: Connection) -> list[FirstDayRow]:
    """Each recipient and authority scope's first day in daily_volume, with that day's records
    and its source's first day (coverage start): the caller keeps those within the warm-up."""
    with conn.cursor(row_factory=class_row(FirstDayRow)) as cur:
        cur.execute(
            "SELECT f.scope_kind, f.source_agency, f.scope_value, f.day AS first_day,"
            " f.disclosures, f.records, c.coverage_start"
            " FROM (SELECT DISTINCT ON (scope_kind, source_agency, scope_value) *"
            "       FROM daily_volume WHERE scope_kind IN ('recipient', 'authority')"
            "       ORDER BY scope_kind, source_agency, scope_value, day) f"
            " JOIN (SELECT source_agency, min(day) AS coverage_start FROM daily_volume"
            "       WHERE scope_kind = 'source' GROUP BY source_agency) c USING (source_agency)"
            " ORDER BY f.day, f.source_agency, f.scope_kind, f.scope_value"
        )
        return list(cur.fetchall())


def alert_counts(
    conn: Connection,
    rule: str | None = None,
    since: date | None = None,
    status: str | None = None,
) -> dict[str, int]:
    """Alerts per rule (every alert, not a page of them): what the public role sees."""
    where = ["TRUE"]
    if rule:
        where.append("rule = %(rule)s")
    if since:
        where.append("day >= %(since)s")
    by_status = _status_where(status)
    if by_status:
        where.append(by_status)
    rows = conn.execute(
        "SELECT rule, count(*) FROM alerts a JOIN alert_status s USING (alert_id)"
        f" WHERE {' AND '.join(where)} GROUP BY rule ORDER BY rule",
        {"rule": rule, "since": since, "status": status},
    ).fetchall()
    return {str(r[0]): int(r[1]) for r in rows}


def warming_up_sources(conn: Connection, days: int = 365) -> list[WarmingUpSource]:
    """Sources whose latest day is still within a year of their coverage start (see
    docs/design.md, 'History and warm-up')."""
    with conn.cursor(row_factory=class_row(WarmingUpSource)) as cur:
        cur.execute(
            "SELECT source_agency, min(day) AS coverage_start, max(day) AS latest_day,"
            " min(day) + %(days)s AS active_from"
            " FROM daily_volume WHERE scope_kind = 'source' GROUP BY source_agency"
            " HAVING max(day) < min(day) + %(days)s ORDER BY source_agency",
            {"days": days},
        )
        return list(cur.fetchall())


def accounting(conn: Connection, ref: str) -> list[dict[str, Any]]:
    """Privacy Act accounting of one keyed ref (``store.reports.accounting``: manifests joined by
    event and writer, refs checked against record_count, amended and withdrawn ones kept)."""
    from ledger.store.reports import accounting as entries

    return entries(conn, ref)


def alert_exists(conn: Connection, alert_id: str) -> bool:
    return (
        conn.execute("SELECT 1 FROM alerts WHERE alert_id = %s", (alert_id,)).fetchone() is not None
    )


def ping(conn: Connection) -> None:
    """Fails (as a driver error) unless the database answers."""
    conn.execute("SELECT 1")


def _record_page(
    conn: Connection, table: str, order: str, limit: int, offset: int
) -> tuple[list[Any], bool]:
    rows = conn.execute(
        f"SELECT record FROM {table} ORDER BY {order}, event_id LIMIT %s OFFSET %s",
        (limit + 1, offset),
    ).fetchall()
    return [r[0] for r in rows[:limit]], len(rows) > limit


def notice_page(conn: Connection, limit: int, offset: int) -> tuple[list[Any], bool]:
    """Stored NoticeFiled records in filing order, and whether more follow."""
    return _record_page(conn, "notices", "filed_at", limit, offset)


def court_order_page(conn: Connection, limit: int, offset: int) -> tuple[list[Any], bool]:
    """Stored CourtOrderRecorded records in order of effect, and whether more follow."""
    return _record_page(conn, "court_orders", "effective_at", limit, offset)


def entry(conn: Connection, event_id: str) -> dict[str, Any] | None:
    """One log entry as officials see it (its body is the JSON rendering), or None."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT log_id, seq, kafka_offset, event_type, occurred_at, recorded_at, body::jsonb AS body"
            " FROM entries WHERE event_id = %s",
            (event_id,),
        )
        return cur.fetchone()
