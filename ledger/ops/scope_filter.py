"""Disclosure filters by canonical scope: 'Department of Homeland Security' lists the disclosures
to ICE however their events spelt it, as the volumes count them (the table keeps the raw text)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from ledger.rules.registry import Registry
from ledger.store import Connection, queries


def recipient_spellings(conn: Connection, registry: Registry, named: Iterable[str]) -> list[str]:
    """Every recipient text of the stored disclosures that names one of ``named`` or an agency
    within one (by canonical id and ancestry: 'DHS' gives ICE's spellings too)."""
    wanted = {registry.agency(n).id for n in named}
    return [
        t
        for t in queries.spellings(conn, "recipient_agency")
        if wanted.intersection(registry.agency(t).chain)
    ]


def authority_spellings(conn: Connection, registry: Registry, named: Iterable[str]) -> list[str]:
    """Every citation of the stored disclosures that is one of ``named`` or within one, however
    spelt ('26 USC 6103(i)' gives every 6103(i)(...) citation)."""
    wanted = {registry.authority(n).id for n in named}
    return [
        t
        for t in queries.spellings(conn, "legal_authority")
        if wanted.intersection(registry.authority(t).chain)
    ]


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
    recipients = None if not recipient else recipient_spellings(conn, registry, [recipient])
    authorities = None if not authority else authority_spellings(conn, registry, [authority])
    return queries.DisclosureFilter(recipients, authorities, source, since, until, limit, offset)
