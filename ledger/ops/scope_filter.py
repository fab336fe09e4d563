"""Disclosure filters by canonical scope: 'Department of Homeland Security' lists the disclosures
to ICE however their events spelt it, as the volumes count them (the table keeps the raw text)."""

from __future__ import annotations

from datetime import date

from ledger.rules.registry import Registry
from ledger.store import Connection, queries


def disclosure_filter(
    conn: Connection,
    registry: Registry,
    recipient: str | None = None,
    authority: str | None = None,
    source: str | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = 100,
    offset: int = 0,
) -> queries.DisclosureFilter:
    """``recipient`` matches every spelling of it and of the agencies within it, ``authority``
    every spelling of it and of the citations within it; ``source`` is matched as written."""
    recipients = authorities = None
    if recipient:
        wanted = registry.agency(recipient).id
        recipients = [
            t
            for t in queries.spellings(conn, "recipient_agency")
            if wanted in registry.agency(t).chain
        ]
    if authority:
        cited = registry.authority(authority).id
        authorities = [
            t
            for t in queries.spellings(conn, "legal_authority")
            if cited in registry.authority(t).chain
        ]
    return queries.DisclosureFilter(recipients, authorities, source, since, until, limit, offset)
