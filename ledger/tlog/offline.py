"""Offline proof checking: only the proof JSON, its checkpoint and the public key; no services."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.errors import VerificationError
from ledger.safe_files import loads_json, read_text, why
from ledger.tlog import checkpoint as tlog
from ledger.tlog import merkle, tlog_proof
from ledger.tlog.cosignature import check_cosignatures
from ledger.tlog.note import Verifier


@dataclass(frozen=True)
class ProofCheck:
    kind: str  # "inclusion" or "consistency"
    log: str
    origin: str
    detail: str


def _b64(value: Any, name: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VerificationError(f"{name} is not valid base64.") from exc


def _field(proof: dict[str, Any], name: str) -> Any:
    if name not in proof:
        raise VerificationError(f"The proof has no {name!r} field.")
    return proof[name]


def check_inclusion(proof: dict[str, Any], verifiers: list[Verifier]) -> ProofCheck:
    cp = tlog.verify(str(_field(proof, "checkpoint")), verifiers)
    size = int(_field(proof, "tree_size"))
    index = int(_field(proof, "leaf_index"))
    if cp.size != size:
        raise VerificationError(
            f"The proof is for tree size {size} but its checkpoint signs size {cp.size}."
        )
    leaf = _b64(_field(proof, "leaf_hash"), "leaf_hash")
    withheld = "value" not in proof
    # Below the auditor role a message carrying taxpayer refs is served without its bytes: the
    # proof then proves its leaf hash, which whoever holds the bytes checks as SHA-256(0x00 || bytes).
    if not withheld and merkle.leaf_hash(_b64(proof["value"], "value")) != leaf:
        raise VerificationError(
            "leaf_hash is not SHA-256(0x00 || value): the message bytes were altered."
        )
    hashes = [_b64(h, "hashes[]") for h in _field(proof, "hashes")]
    merkle.verify_inclusion(leaf, index, size, hashes, cp.root_hash)
    detail = f"entry {index} is in the log of {size} entries signed by the checkpoint"
    if withheld:
        detail += " (its bytes were withheld; the proof covers its leaf hash)"
    return ProofCheck("inclusion", str(proof.get("log", "")), cp.origin, detail)


def check_consistency(proof: dict[str, Any], verifiers: list[Verifier]) -> ProofCheck:
    old = tlog.verify(str(_field(proof, "old_checkpoint")), verifiers)
    new = tlog.verify(str(_field(proof, "new_checkpoint")), verifiers)
    if old.origin != new.origin:
        raise VerificationError(
            f"The checkpoints are of different logs: {old.origin} and {new.origin}."
        )
    if (old.size, new.size) != (int(_field(proof, "old_size")), int(_field(proof, "new_size"))):
        raise VerificationError(
            "The sizes in the proof differ from the sizes the checkpoints sign."
        )
    hashes = [_b64(h, "hashes[]") for h in _field(proof, "hashes")]
    merkle.verify_consistency(old.size, new.size, old.root_hash, new.root_hash, hashes)
    return ProofCheck(
        "consistency",
        str(proof.get("log", "")),
        new.origin,
        f"the log of {new.size} entries extends the log of {old.size} without rewriting it",
    )


def check_witnesses(
    proof: dict[str, Any], check: ProofCheck, witness_vkeys: list[str], minimum: int
) -> ProofCheck:
    """At least ``minimum`` of the given witnesses cosigned the checkpoint the proof rests on
    (an inclusion proof's checkpoint; a consistency proof's new one)."""
    note = str(proof["checkpoint" if check.kind == "inclusion" else "new_checkpoint"])
    names = check_cosignatures(note, witness_vkeys, minimum)
    if not names:
        return check
    detail = f"{check.detail}; cosigned by {', '.join(names)}"
    return ProofCheck(check.kind, check.log, check.origin, detail)


def check_proof_file(
    path: Path,
    vkeys: list[str],
    witness_vkeys: list[str] | None = None,
    min_witnesses: int = 0,
    entry: bytes | None = None,
) -> ProofCheck:
    """Check a proof in the ledger's JSON or a C2SP tlog-proof (``entry``: the entry's bytes,
    for a tlog-proof that does not carry them)."""
    try:
        text = read_text(path, what="proof file")  # a regular file only, size-capped
        if tlog_proof.is_tlog_proof(text):
            leaf = None if entry is None else merkle.leaf_hash(entry)
            proof = tlog_proof.to_inclusion_json(tlog_proof.parse(text), leaf)
            if entry is not None and merkle.leaf_hash(entry) != _b64(proof["leaf_hash"], "extra"):
                raise VerificationError("--entry is not the entry the tlog-proof carries.")
        else:
            proof = loads_json(text, what="proof file")
    except (OSError, UnicodeDecodeError) as exc:
        raise VerificationError(f"Cannot read {path}: {why(exc)}.") from exc
    except json.JSONDecodeError as exc:
        raise VerificationError(f"{path} is not JSON: {exc.msg} at line {exc.lineno}.") from exc
    if not isinstance(proof, dict):
        raise VerificationError(f"{path} does not hold a proof object.")
    verifiers = [Verifier.from_vkey(k) for k in vkeys]
    if "leaf_index" in proof:
        check = check_inclusion(proof, verifiers)
    elif "old_size" in proof:
        check = check_consistency(proof, verifiers)
    else:
        raise VerificationError(f"{path} is neither an inclusion nor a consistency proof.")
    return check_witnesses(proof, check, witness_vkeys or [], min_witnesses)
