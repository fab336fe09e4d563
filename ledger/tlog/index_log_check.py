"""The pure check of an index log as an export bundle carries it: the signed checkpoint, every
leaf (one per index snapshot), and the signed disclosure-log checkpoints each leaf covers.

What it shows: the leaves are exactly the ones the signed index log commits to, and each leaf
is the snapshot hash with the disclosure-log checkpoints it says it covers, each signed by the
ledger. An expert who rebuilds the index from the log (with the taxpayer key) compares their
snapshot hashes with the leaves' and needs nothing else from the ledger.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any

from ledger.errors import VerificationError
from ledger.tlog import checkpoint, merkle
from ledger.tlog.bundle_check import BundleCheckpointError
from ledger.tlog.note import Verifier
from ledger.tlog.taxpayer_index import snapshot_leaf


class IndexLogBundleError(BundleCheckpointError):
    """The index log in a bundle does not hold together (a bundle checkpoint failure)."""


def _str(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise IndexLogBundleError(f"{where} is not text.")
    return value


def check_index_log(
    cp: checkpoint.Checkpoint,
    leaves: Sequence[Mapping[str, Any]],
    verifiers: Sequence[Verifier],
    where: str,
) -> None:
    """``cp``: the index log's checkpoint, already verified. Raises naming the first leaf that
    fails."""
    if len(leaves) != cp.size:
        raise IndexLogBundleError(f"{where}: {len(leaves)} leaves for an index log of {cp.size}.")
    hashes = []
    for n, line in enumerate(leaves):
        at = f"{where} leaf {n}"
        try:
            leaf = base64.b64decode(_str(line.get("leaf"), f"{at} leaf"), validate=True)
            snapshot = bytes.fromhex(_str(line.get("snapshot"), f"{at} snapshot"))
        except (binascii.Error, ValueError) as exc:
            raise IndexLogBundleError(f"{at}: not base64 or hex.") from exc
        if line.get("leaf_index") != n:
            raise IndexLogBundleError(f"{at}: its leaf_index is {line.get('leaf_index')!r}.")
        covered = []
        for c in line.get("covered") or []:
            note = _str(c.get("checkpoint"), f"{at} covered checkpoint")
            try:
                signed = checkpoint.verify(note, list(verifiers))
            except VerificationError as exc:
                raise IndexLogBundleError(f"{at}: a covered checkpoint: {exc}") from exc
            covered.append((signed.origin, signed.size, signed.root_hash))
        if snapshot_leaf(snapshot, covered) != leaf:
            raise IndexLogBundleError(
                f"{at}: the leaf is not its snapshot with the checkpoints it covers."
            )
        hashes.append(merkle.leaf_hash(leaf))
    if merkle.root_from_leaf_hashes(hashes) != cp.root_hash:
        raise IndexLogBundleError(f"{where}: the leaves do not hash to the checkpoint's root.")
