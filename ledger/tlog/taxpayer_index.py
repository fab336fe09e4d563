"""The taxpayer index's wire contract: which MPT key and value a taxpayer has, and the leaf
that commits an index snapshot to the index log. Pure; docs/mpt.md states the same contract.

A proof of absence shows a neighbouring key and value, so neither may reveal anything: the
key is a keyed hash of the taxpayer's stored ref (itself HMAC-SHA256(K, normalized TIN), the
only form in which a TIN enters the ledger) and the value a keyed hash of that taxpayer's
positions. With K = the taxpayer key (LEDGER_TAXPAYER_KEY_FILE), ref = the 32 raw bytes of
the stored ref:

    key   = HMAC-SHA256(K, "ledger taxpayer index v1" || 0x00 || ref)
    value = HMAC-SHA256(K, "ledger taxpayer index value v1" || 0x00 || key || positions(list))

``positions`` is the canonical encoding of the entries that concern the taxpayer, sorted by
(log id, index) without repeats: uvarint(count), then per entry uvarint(len(log id)) ||
log id (UTF-8) || uvarint(index). The key is derived from the ref, not the TIN, because the
index's consumer sees only refs; whoever holds K and the TIN derives the ref first. The key is
in the value, so two taxpayers with the same disclosures still have unrelated values.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ledger.errors import VerificationError
from ledger.tlog import mpt

KEY_DOMAIN = b"ledger taxpayer index v1"
VALUE_DOMAIN = b"ledger taxpayer index value v1"
LEAF_HEADER = "ledger taxpayer index snapshot v1"


class IndexAnswerError(VerificationError):
    """An index answer's key, value or entry list is not the one the taxpayer key derives."""


@dataclass(frozen=True, order=True)
class Position:
    """An entry of a disclosure log: its log id (``<topic>/<partition>``) and leaf index."""

    log: str
    index: int


def _ref_bytes(ref: str | bytes) -> bytes:
    raw = bytes.fromhex(ref) if isinstance(ref, str) else ref
    if len(raw) != 32:
        raise ValueError("A taxpayer ref is 32 bytes (64 hex digits).")
    return raw


def index_key(taxpayer_key: bytes, ref: str | bytes) -> bytes:
    """The MPT key of the taxpayer whose stored ref is ``ref`` (hex or raw)."""
    msg = KEY_DOMAIN + b"\x00" + _ref_bytes(ref)
    return hmac.new(taxpayer_key, msg, hashlib.sha256).digest()


def encode_positions(positions: Iterable[Position]) -> bytes:
    ordered = sorted(set(positions))
    out = [mpt.uvarint(len(ordered))]
    for p in ordered:
        if p.index < 0:
            raise ValueError(f"A log index is not negative; got {p.index}.")
        log = p.log.encode("utf-8")
        out += [mpt.uvarint(len(log)), log, mpt.uvarint(p.index)]
    return b"".join(out)


def decode_positions(data: bytes) -> list[Position]:
    """The inverse of encode_positions; raises ValueError on anything it would not write."""
    count, pos = mpt.read_uvarint(data, 0)
    if pos <= 0:
        raise ValueError("The position list does not start with a count.")
    out = []
    for _ in range(count):
        log = mpt.cut_var(data, pos)
        if log is None:
            raise ValueError("The position list ends inside a log id.")
        index, read = mpt.read_uvarint(data, log[1])
        if read <= 0:
            raise ValueError("The position list ends inside an index.")
        out.append(Position(log[0].decode("utf-8"), index))
        pos = log[1] + read
    if pos != len(data) or encode_positions(out) != data:
        raise ValueError("The position list is not in canonical form.")
    return out


def index_value(taxpayer_key: bytes, key: bytes, positions: Iterable[Position]) -> bytes:
    msg = VALUE_DOMAIN + b"\x00" + key + encode_positions(positions)
    return hmac.new(taxpayer_key, msg, hashlib.sha256).digest()


def index_entries(
    taxpayer_key: bytes, postings: Mapping[str, Iterable[Position]]
) -> list[tuple[bytes, bytes]]:
    """The index as MPT (key, value) pairs sorted by key, from each ref's positions."""
    pairs = []
    for ref, positions in postings.items():
        key = index_key(taxpayer_key, ref)
        pairs.append((key, index_value(taxpayer_key, key, positions)))
    return sorted(pairs)  # 32-byte keys: byte order is torchwood's key order


def check_answer(
    snapshot: bytes,
    key: bytes,
    value: bytes | None,
    proof: bytes,
    positions: Sequence[Position],
    taxpayer_key: bytes | None = None,
    ref: str | bytes | None = None,
) -> None:
    """The MPT proof shows ``key`` holds ``value`` (None: absent) in ``snapshot``; with the
    taxpayer key and the taxpayer's ref, also that key and value are this taxpayer's and the
    positions are exactly the ones the value commits to."""
    mpt.verify_lookup(snapshot, key, value, proof)
    if value is None and positions:
        raise IndexAnswerError("The answer lists entries but proves the taxpayer is absent.")
    if taxpayer_key is None or ref is None:
        return
    if not hmac.compare_digest(index_key(taxpayer_key, ref), key):
        raise IndexAnswerError("The index key is not this taxpayer's: the answer is for another.")
    if value is not None and not hmac.compare_digest(
        index_value(taxpayer_key, key, positions), value
    ):
        raise IndexAnswerError("The listed entries are not the ones the index value commits to.")


def snapshot_leaf(snapshot: bytes, checkpoints: Iterable[tuple[str, int, bytes]]) -> bytes:
    """The index log's leaf for one snapshot: a header line, the snapshot hash in hex, then one
    line per disclosure-log checkpoint it covers, ``<origin> <size> <base64 root>``, sorted."""
    lines = [LEAF_HEADER, snapshot.hex()]
    for origin, size, root in sorted(checkpoints):
        if " " in origin or "\n" in origin:
            raise ValueError(f"A checkpoint origin has no spaces or newlines: {origin!r}.")
        lines.append(f"{origin} {size} {base64.b64encode(root).decode('ascii')}")
    return ("\n".join(lines) + "\n").encode("utf-8")
