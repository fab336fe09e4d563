"""Alerts as each reader may list them: `ledger alerts` and /api/alerts.

Counts per rule for the public role; otherwise a page of the alerts themselves (open critical
first, then newest: store.alert_pages), or the scopes first seen while their source warmed up.
The whole request is checked before any of these is chosen, so a bad one is refused alike
whoever asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal, overload

from ledger.errors import QueryError
from ledger.ops.first_seen import FirstSeen, first_seen
from ledger.ops.scope_asked import check_kind, scope_value
from ledger.rules.config import RulesConfig
from ledger.rules.registry import Registry
from ledger.store import Connection, queries
from ledger.store.alert_pages import AlertFilter, AlertPage, Place, alert_page
from ledger.store.query_rows import WarmingUpSource


@dataclass(frozen=True)
class AlertsRequest:
    rule: str | None = None
    since: date | None = None  # alerts for days on or after
    kind: str | None = None  # scopes of this kind
    scope: str | None = None  # this scope as typed (a recipient when no kind is given)
    status: str = "all"  # "open", "resolved" or "all"
    limit: int = 200
    cursor: str | None = None  # the next_cursor of the page before
    first_seen: bool = False  # the scopes first seen while warming up instead


@dataclass(frozen=True)
class AlertCounts:
    counts: dict[str, int]  # rule -> alerts, over every alert


@dataclass(frozen=True)
class ScopesFirstSeen:
    scopes: list[FirstSeen]


@dataclass(frozen=True)
class AlertListing:
    page: AlertPage
    warming_up: list[WarmingUpSource] = field(default_factory=list)  # when asked for


AlertsAnswer = AlertCounts | ScopesFirstSeen | AlertListing


def check(asked: AlertsRequest, registry: Registry) -> AlertFilter:
    """The filter ``asked`` means, scope resolved (any spelling); refuses a scope kind that does
    not exist, half a pair, an unknown status or a cursor no listing gave out."""
    check_kind(asked.kind)
    if asked.status not in queries.ALERT_STATUSES:
        raise QueryError(f"status must be {', '.join(queries.ALERT_STATUSES)}")
    if asked.limit < 1:
        raise QueryError("limit must be at least 1")
    if asked.cursor is not None:
        Place.of(asked.cursor)  # BadCursorError, a QueryError
    value = scope_value(registry, asked.kind or "recipient", asked.scope)
    return AlertFilter(asked.rule, asked.since, asked.kind, value, asked.status)


@overload
def alerts(
    conn: Connection,
    rules: RulesConfig,
    asked: AlertsRequest,
    *,
    counts_only: Literal[False] = False,
    warming_up: bool = False,
) -> ScopesFirstSeen | AlertListing: ...


@overload
def alerts(
    conn: Connection,
    rules: RulesConfig,
    asked: AlertsRequest,
    *,
    counts_only: bool,
    warming_up: bool = False,
) -> AlertsAnswer: ...


def alerts(
    conn: Connection,
    rules: RulesConfig,
    asked: AlertsRequest,
    *,
    counts_only: bool = False,
    warming_up: bool = False,
) -> AlertsAnswer:
    """Counts per rule when ``counts_only`` (all the public role sees), else the scopes first
    seen or a page of alerts, with the sources still warming up when ``warming_up``."""
    wanted = check(asked, rules.registry)
    if counts_only:
        return AlertCounts(queries.alert_counts(conn, asked.rule, asked.since, asked.status))
    if asked.first_seen:
        return ScopesFirstSeen(first_seen(conn, rules))
    page = alert_page(conn, wanted, asked.limit, asked.cursor)
    return AlertListing(page, queries.warming_up_sources(conn) if warming_up else [])
