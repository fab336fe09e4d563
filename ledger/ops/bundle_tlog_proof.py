"""One entry of an export bundle as a C2SP tlog-proof@v1, made offline from the bundle's files.

A bundle holds each log's signed checkpoint and one inclusion proof per entry; the tlog-proof
form (``ledger.tlog.tlog_proof``) is the same proof with the checkpoint inlined and the entry's
bytes as its extra data, which torchwood's ``VerifyProof`` and `ledger verify-proof` read.
Nothing here is trusted: the proof verifies against the log's key or it does not.
"""

from __future__ import annotations

import base64
from pathlib import Path

from ledger.errors import VerificationError
from ledger.ops import bundle_files as bf
from ledger.ops.bundle_entries import read_entries
from ledger.safe_files import loads_json, open_regular, read_text
from ledger.tlog.tlog_proof import TlogProof

_LINE_MAX = 1 << 20  # as verify-bundle reads inclusion lines


class BundleEntryNotFoundError(VerificationError):
    """The bundle holds no entry (or no proof) for the event id asked for."""


def tlog_proof_from_bundle(root: Path, event_id: str) -> TlogProof:
    """The tlog-proof of the entry ``event_id`` of the bundle at ``root``."""
    entry = next((e for e in read_entries(root) if e.get("event_id") == event_id), None)
    if entry is None:
        raise BundleEntryNotFoundError(f"The bundle holds no entry with event id {event_id}.")
    log_id = str(entry["log"])
    checkpoint = read_text(root / bf.checkpoint_path(log_id), what="bundle file")
    try:
        proofs = open_regular(root / bf.inclusion_path(log_id), "bundle file")
    except FileNotFoundError:
        raise BundleEntryNotFoundError(f"{bf.inclusion_path(log_id)} is missing.") from None
    with proofs:
        for raw in proofs:
            if len(raw) > _LINE_MAX:
                raise VerificationError(f"{bf.inclusion_path(log_id)}: a line is over 1 MiB.")
            line = loads_json(raw, f"{bf.inclusion_path(log_id)} line")
            if isinstance(line, dict) and line.get("event_id") == event_id:
                break
        else:
            raise BundleEntryNotFoundError(
                f"{bf.inclusion_path(log_id)} has no proof for event id {event_id}."
            )
    value = entry.get("value")
    return TlogProof(
        index=int(entry["leaf_index"]),
        hashes=tuple(base64.b64decode(h) for h in line.get("hashes", [])),
        checkpoint=checkpoint,
        extra=value if isinstance(value, bytes) else None,
    )
