"""Which log entries concern which taxpayer: the taxpayer index before it is hashed. Pure.

A DisclosureRecorded concerns every ref it lists, a DisclosureManifest chunk every ref in the
chunk, and a DisclosureAmended every taxpayer of the disclosure it amends (taxpayer refs are
not amendable, so a change or a withdrawal concerns exactly the disclosure's taxpayers). Lists
are kept by index key (docs/mpt.md), never by ref; feed entries in log order.
"""

from __future__ import annotations

from collections.abc import Iterable

from ledger.events import DisclosureAmended, DisclosureManifest, DisclosureRecorded, LedgerEvent
from ledger.tlog.taxpayer_index import Position, index_key, index_value


class Postings:
    def __init__(self, taxpayer_key: bytes) -> None:
        self.taxpayer_key = taxpayer_key
        self.by_key: dict[bytes, set[Position]] = {}
        self.keys_of: dict[str, set[bytes]] = {}  # disclosure id -> its taxpayers' index keys

    def key(self, ref: str) -> bytes:
        return index_key(self.taxpayer_key, ref)

    def apply(self, position: Position, event: LedgerEvent) -> set[bytes]:
        """Add the entry at ``position``; the index keys whose lists it changed."""
        if isinstance(event, DisclosureRecorded | DisclosureManifest):
            keys = {self.key(r) for r in event.taxpayer_refs}
            self.keys_of.setdefault(event.disclosure_id, set()).update(keys)
        elif isinstance(event, DisclosureAmended):
            keys = set(self.keys_of.get(event.disclosure_id, ()))
        else:
            return set()
        for key in keys:
            self.by_key.setdefault(key, set()).add(position)
        return keys

    def positions(self, key: bytes) -> list[Position]:
        return sorted(self.by_key.get(key, ()))

    def entries(self, keys: Iterable[bytes]) -> list[tuple[bytes, bytes]]:
        """The MPT (key, value) pairs of ``keys`` (e.g. a batch's changed ones), sorted."""
        return sorted(
            (k, index_value(self.taxpayer_key, k, self.by_key.get(k, ()))) for k in set(keys)
        )
