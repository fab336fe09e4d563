"""Alerts as people read them: open critical alerts first, then newest first, a page at a time.

A flood of minor alerts must not bury a new finding (see docs/api.md, "Alerts: order and
paging"). Every listing (``ledger alerts``, /api/alerts, the dashboard) reads pages from here:

- the order is (open critical first, then the rest) and within each, newest fired first, the
  alert id breaking ties; it is total, so a cursor marks a place in it;
- a page says how many alerts follow it (``more``) and gives a cursor to the next page when any
  do. Cursors are opaque to callers: the place of the page's last alert in that order.

An alert that changes status between two pages can move between the two groups, so a reader
paging through a ledger that is changing may meet it twice or not at all: the first page is
always current, which is what matters when a spike arrives.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from psycopg.rows import dict_row

from ledger.errors import QueryError
from ledger.rules.lifecycle import STATUSES
from ledger.store.connection import Connection
from ledger.store.query_rows import AlertRow

CURSOR_MAX = 200  # characters: a cursor this module makes is about 110
_PLACING = frozenset({"id", "rank", "matching"})
_RANK = "CASE WHEN a.severity = 'critical' AND s.status = 'open' THEN 0 ELSE 1 END"


class BadCursorError(QueryError):
    """A cursor that no listing of alerts gave out."""


@dataclass(frozen=True)
class Place:
    """Where a page ended: the last alert's group (0: open critical), fired time and id."""

    rank: int
    fired_at: datetime
    alert_id: str

    def cursor(self) -> str:
        raw = json.dumps([self.rank, self.fired_at.isoformat(), self.alert_id])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def of(cls, cursor: str) -> Place:
        """The place a cursor marks; BadCursorError for anything else."""
        try:
            if len(cursor) > CURSOR_MAX:
                raise ValueError("too long")
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            rank, fired, alert_id = json.loads(raw)
            place = cls(int(rank), datetime.fromisoformat(fired), str(uuid.UUID(alert_id)))
            if place.rank not in (0, 1) or place.fired_at.tzinfo is None:
                raise ValueError("out of range")
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            raise BadCursorError(
                "cursor: not a cursor an alerts listing gave out; list again without it"
            ) from None
        return place


@dataclass(frozen=True)
class AlertFilter:
    rule: str | None = None
    since: date | None = None  # alerts for days on or after
    kind: str | None = None  # volume scopes of this kind
    value: str | None = None  # this scope value (or source, for kind "source")
    status: str | None = None  # "open", "resolved"; None or "all": both


@dataclass(frozen=True)
class AlertPage:
    alerts: list[AlertRow]
    more: int  # alerts after this page
    next_cursor: str | None  # None when nothing follows


def _where(wanted: AlertFilter) -> list[str]:
    where = ["TRUE"]
    if wanted.rule:
        where.append("a.rule = %(rule)s")
    if wanted.since:
        where.append("a.day >= %(since)s")
    if wanted.kind:
        where.append("a.scope_kind = %(kind)s")
    if wanted.value is not None:
        where.append(
            "(a.scope_value = %(value)s OR (a.scope_kind = 'source' AND a.scope_source = %(value)s))"
        )
    if wanted.status not in (None, "all"):
        if wanted.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)} or all")
        where.append("s.status = %(status)s")
    return where


def alert_page(
    conn: Connection, wanted: AlertFilter, limit: int, cursor: str | None = None
) -> AlertPage:
    """Up to ``limit`` alerts of ``wanted`` in listing order, after ``cursor`` when given."""
    place = Place.of(cursor) if cursor else None
    where = _where(wanted)
    if place is not None:
        where.append(
            f"({_RANK} > %(rank)s OR ({_RANK} = %(rank)s"
            " AND (a.fired_at, a.alert_id) < (%(fired_at)s, %(alert_id)s::uuid)))"
        )
    params: dict[str, Any] = {
        "rule": wanted.rule,
        "since": wanted.since,
        "kind": wanted.kind,
        "value": wanted.value,
        "status": wanted.status,
        "limit": limit,
        "rank": place.rank if place else None,
        "fired_at": place.fired_at if place else None,
        "alert_id": place.alert_id if place else None,
    }
    # The page is chosen first and only its rows get their deliveries and acknowledgements.
    query = (
        "SELECT p.*,"
        " COALESCE((SELECT string_agg(d.endpoint || ':' || d.outcome, ', ' ORDER BY d.endpoint)"
        "   FROM alert_delivery_status d WHERE d.alert_id = p.id), '') AS delivery,"
        " COALESCE((SELECT string_agg(k.acknowledged_by, ', ' ORDER BY k.acknowledged_at)"
        "   FROM acknowledgements k WHERE k.alert_id = p.id), '') AS acknowledged_by"
        " FROM (SELECT a.alert_id AS id, a.alert_id::text AS alert_id, a.rule, a.severity,"
        "   a.scope, a.scope_kind, a.scope_source, a.scope_value, a.day, a.observed, a.threshold,"
        "   a.evidence, a.legal_source, a.message, a.fired_at, s.status, s.status_reason,"
        f"   {_RANK} AS rank, count(*) OVER () AS matching"
        "   FROM alerts a JOIN alert_status s USING (alert_id)"
        f"   WHERE {' AND '.join(where)}"
        "   ORDER BY rank, a.fired_at DESC, a.alert_id DESC LIMIT %(limit)s) p"
        " ORDER BY p.rank, p.fired_at DESC, p.id DESC"
    )
    with conn.cursor(row_factory=dict_row) as cur:
        rows = list(cur.execute(query, params).fetchall())
    matching = int(rows[0]["matching"]) if rows else 0
    more = max(0, matching - len(rows))
    last = rows[-1] if rows else None
    next_cursor = (
        Place(int(last["rank"]), last["fired_at"], last["alert_id"]).cursor()
        if last is not None and more
        else None
    )
    # id, rank and matching only place the page; the row is what the listing shows.
    alerts = [AlertRow(**{k: v for k, v in r.items() if k not in _PLACING}) for r in rows]
    return AlertPage(alerts, more, next_cursor)
