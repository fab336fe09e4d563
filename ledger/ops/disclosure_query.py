"""The disclosures themselves, filtered and paged: `ledger query` and /api/disclosures."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.errors import QueryError
from ledger.ops.scope_filter import disclosure_filter
from ledger.rules.registry import Registry
from ledger.store import Connection, queries
from ledger.store.query_rows import DisclosureRow

DisclosureRequest = queries.DisclosureFilter  # names as typed; the filter widens them


@dataclass(frozen=True)
class DisclosureAnswer:
    disclosures: list[DisclosureRow]  # newest first
    total: int  # every match, for paging


def check(asked: DisclosureRequest) -> None:
    if asked.limit < 1:
        raise QueryError("limit must be at least 1")
    if asked.offset < 0:
        raise QueryError("offset must not be negative")


def disclosures(conn: Connection, registry: Registry, asked: DisclosureRequest) -> DisclosureAnswer:
    """A page of the disclosures ``asked`` names: a recipient or authority by any spelling, and
    the agencies or citations within it."""
    check(asked)
    rows, total = queries.disclosures(conn, disclosure_filter(conn, registry, asked))
    return DisclosureAnswer(rows, total)
