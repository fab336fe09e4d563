"""Stored notices and court orders a page at a time: /api/notices and /api/court-orders.

The records are the stored event records, documents rather than rows; who may see their
taxpayer refs is the edge's to decide (the API withholds them below the auditor).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ledger.errors import QueryError
from ledger.store import Connection, queries


@dataclass(frozen=True)
class PageRequest:
    limit: int = 500
    offset: int = 0


@dataclass(frozen=True)
class RecordPage:
    records: list[dict[str, Any]]
    more: bool  # records follow this page


Reader = Callable[[Connection, int, int], tuple[list[Any], bool]]


def check(asked: PageRequest) -> None:
    if asked.limit < 1:
        raise QueryError("limit must be at least 1")
    if asked.offset < 0:
        raise QueryError("offset must not be negative")


def _page(conn: Connection, read: Reader, asked: PageRequest) -> RecordPage:
    check(asked)
    records, more = read(conn, asked.limit, asked.offset)
    return RecordPage(records, more)


def notices(conn: Connection, asked: PageRequest) -> RecordPage:
    """Stored NoticeFiled records in filing order."""
    return _page(conn, queries.notice_page, asked)


def court_orders(conn: Connection, asked: PageRequest) -> RecordPage:
    """Stored CourtOrderRecorded records in order of effect."""
    return _page(conn, queries.court_order_page, asked)
