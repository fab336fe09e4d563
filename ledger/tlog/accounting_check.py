"""Offline check of an accounting's ``index_proof`` (docs/mpt.md): the index log's signed
checkpoint, the snapshot leaf's inclusion, the MPT lookup proof, each listed entry's inclusion
proof, and, with the taxpayer key and the taxpayer's ref, that key, value and entries are that
taxpayer's. Each failure is a VerificationError whose one line names the part."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from ledger.codec import EventCodec
from ledger.errors import CodecError, VerificationError
from ledger.events import DisclosureAmended, DisclosureManifest, DisclosureRecorded
from ledger.tlog import checkpoint as tlog
from ledger.tlog import merkle, mpt, tlog_proof
from ledger.tlog.cosignature import check_cosignatures
from ledger.tlog.note import Verifier
from ledger.tlog.offline import check_inclusion
from ledger.tlog.taxpayer_index import LEAF_HEADER, Position, check_answer


class AccountingProofError(VerificationError):
    """An accounting's index proof does not verify; the message names the part."""


@dataclass(frozen=True)
class AccountingCheck:
    present: bool
    entries: int
    snapshot: str
    index_size: int
    witnesses: tuple[str, ...]


def _field(obj: Any, name: str, where: str) -> Any:
    if not isinstance(obj, dict) or name not in obj:
        raise AccountingProofError(f"The {where} has no {name!r} field.")
    return obj[name]


def _bytes(value: Any, name: str, *, hexed: bool = True) -> bytes:
    try:
        return bytes.fromhex(str(value)) if hexed else base64.b64decode(str(value), validate=True)
    except (ValueError, binascii.Error) as exc:
        raise AccountingProofError(f"The index proof's {name} is not valid encoding.") from exc


def _covered(leaf: bytes) -> tuple[str, dict[str, int]]:
    """The snapshot hash (hex) and the checkpoint sizes by origin that an index leaf names."""
    lines = leaf.decode("utf-8", "replace").split("\n")
    if len(lines) < 3 or lines[0] != LEAF_HEADER or lines[-1] != "":
        raise AccountingProofError("The index log's leaf is not a taxpayer index snapshot leaf.")
    sizes = {}
    for line in lines[2:-1]:
        parts = line.split(" ")
        if len(parts) != 3 or not parts[1].isdigit():
            raise AccountingProofError("The index log's leaf has a malformed checkpoint line.")
        sizes[parts[0]] = int(parts[1])
    return lines[1], sizes


def _index_log(proof: dict[str, Any], verifiers: list[Verifier]) -> tuple[bytes, tlog.Checkpoint]:
    index_log = _field(proof, "index_log", "index proof")
    try:
        cp = tlog.verify(str(_field(index_log, "checkpoint", "index log")), verifiers)
    except VerificationError as exc:
        raise AccountingProofError(f"The index log's checkpoint does not verify: {exc}") from exc
    if not cp.origin.endswith("/index"):
        raise AccountingProofError(f"The checkpoint is for {cp.origin}, not an index log.")
    leaf = _bytes(_field(index_log, "leaf", "index log"), "leaf", hexed=False)
    hashes = [_bytes(h, "index log hash", hexed=False) for h in index_log.get("hashes", [])]
    try:
        index = int(_field(index_log, "leaf_index", "index log"))
        merkle.verify_inclusion(merkle.leaf_hash(leaf), index, cp.size, hashes, cp.root_hash)
    except (VerificationError, ValueError) as exc:
        raise AccountingProofError("The snapshot's leaf is not in the signed index log.") from exc
    return leaf, cp


def _concerns(values: list[bytes], ref: str) -> bool:
    """Every listed entry is a disclosure or chunk listing ``ref``, or an amendment of one."""
    codec, disclosures, amended = EventCodec(), set(), []
    for value in values:
        try:
            event = codec.decode(value).event
        except CodecError:
            return False
        if isinstance(event, DisclosureRecorded | DisclosureManifest):
            if ref not in event.taxpayer_refs:
                return False
            disclosures.add(event.disclosure_id)
        elif isinstance(event, DisclosureAmended):
            amended.append(event.disclosure_id)
        else:
            return False
    return all(d in disclosures for d in amended)


def _tlog_differs(text: str, inclusion: dict[str, Any]) -> bool:
    try:
        given = tlog_proof.parse(text)
    except VerificationError:
        return True
    return given != tlog_proof.from_inclusion_json(inclusion)


def check_index_proof(
    proof: dict[str, Any],
    verifiers: list[Verifier],
    witness_vkeys: list[str] | None = None,
    min_witnesses: int = 0,
    taxpayer_key: bytes | None = None,
    ref: str | None = None,
) -> AccountingCheck:
    leaf, cp = _index_log(proof, verifiers)
    names = check_cosignatures(
        str(proof["index_log"]["checkpoint"]), witness_vkeys or [], min_witnesses
    )
    snapshot_hex, sizes = _covered(leaf)
    if str(_field(proof, "snapshot", "index proof")) != snapshot_hex:
        raise AccountingProofError("The snapshot is not the one the index log's leaf commits to.")
    entries = _field(proof, "entries", "index proof")
    if not isinstance(entries, list):
        raise AccountingProofError("The index proof's entries are not a list.")
    positions, values = [], []
    for n, entry in enumerate(entries, 1):
        position = Position(
            str(_field(entry, "log", "entry")), int(_field(entry, "index", "entry"))
        )
        entry_proof = _field(entry, "proof", "entry")
        try:
            checked = check_inclusion(entry_proof, verifiers)
        except VerificationError as exc:
            raise AccountingProofError(
                f"Entry {n}'s inclusion proof does not verify: {exc}"
            ) from exc
        if (entry_proof.get("log"), entry_proof.get("leaf_index")) != (
            position.log,
            position.index,
        ):
            raise AccountingProofError(f"Entry {n}'s inclusion proof is for another entry.")
        if position.index >= sizes.get(checked.origin, 0):
            raise AccountingProofError(f"Entry {n} is not covered by the snapshot.")
        if "tlog_proof" in entry and _tlog_differs(str(entry["tlog_proof"]), entry_proof):
            raise AccountingProofError(f"Entry {n}'s tlog-proof is not its inclusion proof.")
        positions.append(position)
        if "value" in entry_proof:
            values.append(_bytes(entry_proof["value"], f"entry {n} value", hexed=False))
    if positions != sorted(set(positions)):  # as served: each entry once, in (log, index) order
        raise AccountingProofError("The listed entries are out of order or repeat one.")
    value = proof.get("value")
    try:
        check_answer(
            _bytes(snapshot_hex, "snapshot"),
            _bytes(_field(proof, "key", "index proof"), "key"),
            None if value is None else _bytes(value, "value"),
            _bytes(_field(proof, "proof", "index proof"), "proof"),
            positions,
            taxpayer_key,
            ref,
        )
    except mpt.MPTProofError as exc:
        raise AccountingProofError(f"The MPT proof does not verify: {exc}") from exc
    except VerificationError as exc:
        raise AccountingProofError(str(exc)) from exc
    if (
        taxpayer_key is not None
        and ref is not None
        and (len(values) != len(positions) or not _concerns(values, ref))
    ):
        raise AccountingProofError("The listed entries are not all this taxpayer's.")
    return AccountingCheck(value is not None, len(positions), snapshot_hex, cp.size, tuple(names))
