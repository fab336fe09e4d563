"""Disclosure filters by canonical scope: 'Department of Homeland Security' lists the disclosures
to ICE however their events spelt it, as the volumes count them (the table keeps the raw text)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

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
    conn: Connection, registry: Registry, asked: queries.DisclosureFilter
) -> queries.DisclosureFilter:
    """``asked`` (names as typed) as the filter that finds them: its recipient matches every
    spelling of it and of the agencies within it, its authority every spelling of it and of the
    citations within it; its source is matched as written."""
    recipient, authority = asked.recipient, asked.authority
    if recipient:
        recipient = recipient_spellings(conn, registry, _names(recipient))
    if authority:
        authority = authority_spellings(conn, registry, _names(authority))
    return replace(asked, recipient=recipient, authority=authority)


def _names(value: str | Sequence[str]) -> Sequence[str]:
    return [value] if isinstance(value, str) else value
