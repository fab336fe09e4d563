"""The hash chain over a log's entries: chain[n] = SHA-256(chain[n-1] || leaf_hash[n])."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

GENESIS = bytes(32)  # chain_hash[-1]: 32 zero bytes (docs/design.md, 'Leaf and chain hashes')


def chain_hash(previous: bytes, leaf: bytes) -> bytes:
    return hashlib.sha256(previous + leaf).digest()


def leaf_hash(value: bytes) -> bytes:
    """RFC 6962 leaf hash of the exact Kafka message bytes."""
    return hashlib.sha256(b"\x00" + value).digest()


class StoredEntry(NamedTuple):
    """What the verifier needs from one stored row (a named tuple: one is built per entry)."""

    seq: int
    value: bytes
    leaf_hash: bytes
    chain_hash: bytes


@dataclass(frozen=True)
class ChainFinding:
    """The first thing wrong with a log: kind is gap, content_mismatch or broken_linkage."""

    kind: str
    seq: int
    detail: str


class ChainVerifier:
    """Walks a log's entries in seq order and reports the first inconsistency.

    Content mismatch (stored leaf hash differs from the hash of the stored bytes) and broken
    linkage (chain hash differs from the recomputed chain) are told apart on purpose: the first
    means the bytes were altered, the second that the chain itself was rewritten.
    """

    def __init__(self, start_seq: int = 0, previous: bytes = GENESIS) -> None:
        self.expected_seq = start_seq
        self.previous = previous
        self.checked = 0

    def feed(self, entries: Iterable[StoredEntry]) -> ChainFinding | None:
        for entry in entries:
            if entry.seq != self.expected_seq:
                return ChainFinding(
                    "gap", self.expected_seq, f"expected seq {self.expected_seq}, found {entry.seq}"
                )
            computed_leaf = leaf_hash(entry.value)
            if computed_leaf != entry.leaf_hash:
                return ChainFinding(
                    "content_mismatch",
                    entry.seq,
                    f"stored leaf hash {entry.leaf_hash.hex()} but the stored bytes hash to "
                    f"{computed_leaf.hex()}",
                )
            computed_chain = chain_hash(self.previous, computed_leaf)
            if computed_chain != entry.chain_hash:
                return ChainFinding(
                    "broken_linkage",
                    entry.seq,
                    f"stored chain hash {entry.chain_hash.hex()} but the chain gives "
                    f"{computed_chain.hex()}",
                )
            self.previous = computed_chain
            self.expected_seq += 1
            self.checked += 1
        return None
