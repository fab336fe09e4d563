"""Which log entries concern which taxpayer: the taxpayer index before it is hashed. Pure.

A DisclosureRecorded concerns every ref it lists, a DisclosureManifest chunk every ref in the
chunk, and a DisclosureAmended every taxpayer of the disclosure it amends (taxpayer refs are
not amendable, so a change or a withdrawal concerns exactly the disclosure's taxpayers). Feed
entries in log order; a batch's changed refs are what the index's MPT must update. The index
follower that keeps this in PostgreSQL is not written yet (docs/mpt.md, "What remains").
"""

from __future__ import annotations

from collections.abc import Iterable

from ledger.events import DisclosureAmended, DisclosureManifest, DisclosureRecorded, LedgerEvent
from ledger.tlog.taxpayer_index import Position, index_entries


class Postings:
    def __init__(self) -> None:
        self.by_ref: dict[str, set[Position]] = {}
        self.refs_of: dict[str, set[str]] = {}  # disclosure id -> its taxpayers' refs

    def apply(self, position: Position, event: LedgerEvent) -> set[str]:
        """Add the entry at ``position``; the refs whose lists it changed."""
        if isinstance(event, DisclosureRecorded | DisclosureManifest):
            refs = set(event.taxpayer_refs)
            self.refs_of.setdefault(event.disclosure_id, set()).update(refs)
        elif isinstance(event, DisclosureAmended):
            refs = set(self.refs_of.get(event.disclosure_id, ()))
        else:
            return set()
        for ref in refs:
            self.by_ref.setdefault(ref, set()).add(position)
        return refs

    def positions(self, ref: str) -> list[Position]:
        return sorted(self.by_ref.get(ref, ()))

    def entries(self, taxpayer_key: bytes, refs: Iterable[str]) -> list[tuple[bytes, bytes]]:
        """The MPT (key, value) pairs of ``refs`` (e.g. a batch's changed ones), sorted."""
        return index_entries(taxpayer_key, {r: self.by_ref.get(r, set()) for r in refs})
