"""Which log entries concern which taxpayer: the taxpayer index before it is hashed. Pure.

A DisclosureRecorded concerns every ref it lists, a DisclosureManifest chunk every ref in the
chunk, and a DisclosureAmended every taxpayer of the disclosure it amends (taxpayer refs are
not amendable, so a change or a withdrawal concerns exactly the disclosure's taxpayers). Lists
are kept by index key (docs/mpt.md), never by ref; feed entries in log order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ledger.events import DisclosureAmended, DisclosureManifest, DisclosureRecorded, LedgerEvent
from ledger.tlog.taxpayer_index import Position, index_key, index_value


@dataclass(frozen=True, slots=True)
class Prepared:
    """What one entry means for the postings, worked out before its turn (``Postings.prepare``):
    the index keys of a disclosure's or a chunk's taxpayers, or, for an amendment (``keys``
    None), only the disclosure it amends, whose keys are known once the entries before it are
    applied."""

    disclosure_id: str
    keys: frozenset[bytes] | None


class Postings:
    def __init__(self, taxpayer_key: bytes) -> None:
        self.taxpayer_key = taxpayer_key
        self.by_key: dict[bytes, set[Position]] = {}
        self.keys_of: dict[str, set[bytes]] = {}  # disclosure id -> its taxpayers' index keys

    def key(self, ref: str) -> bytes:
        return index_key(self.taxpayer_key, ref)

    def prepare(self, event: LedgerEvent) -> Prepared | None:
        """The part of ``apply`` that depends on the entry alone (its keys are HMACs, the costly
        part), so it can run in any order, ahead of the entries before it; None when the entry
        concerns no taxpayer."""
        if isinstance(event, DisclosureRecorded | DisclosureManifest):
            return Prepared(
                event.disclosure_id, frozenset(self.key(r) for r in event.taxpayer_refs)
            )
        if isinstance(event, DisclosureAmended):
            return Prepared(event.disclosure_id, None)
        return None

    def apply(self, position: Position, event: LedgerEvent) -> set[bytes]:
        """Add the entry at ``position``; the index keys whose lists it changed."""
        prepared = self.prepare(event)
        return set() if prepared is None else self.apply_prepared(position, prepared)

    def apply_prepared(self, position: Position, prepared: Prepared) -> set[bytes]:
        """``apply`` of a prepared entry, in log order: an amendment concerns the keys its
        disclosure has by then."""
        if prepared.keys is not None:
            keys = set(prepared.keys)
            self.keys_of.setdefault(prepared.disclosure_id, set()).update(keys)
        else:
            keys = set(self.keys_of.get(prepared.disclosure_id, ()))
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
