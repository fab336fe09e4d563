"""Inclusion and consistency proofs from the stored tree, in the JSON a court is handed."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any

from ledger.errors import LedgerError
from ledger.store import Connection
from ledger.store.checkpoints import checkpoint_at, latest_checkpoint, recent_sizes
from ledger.store.entries import entry_by_event_id, fetch_nodes
from ledger.tlog import merkle


class ProofUnavailableError(LedgerError):
    """No entry, or no checkpoint yet that covers it."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _stored_proof(
    conn: Connection,
    log_id: str,
    plan: Callable[[int, int], list[merkle.Coordinate]],
    prove: Callable[[int, int, Mapping[merkle.Coordinate, bytes]], list[bytes]],
    a: int,
    b: int,
) -> list[str]:
    """A proof's hashes (base64) from the stored tree: ``plan(a, b)`` names the nodes it reads,
    ``prove(a, b, nodes)`` combines them."""
    return [_b64(h) for h in prove(a, b, fetch_nodes(conn, log_id, plan(a, b)))]


def inclusion_proof_json(
    conn: Connection, event_id: str, tree_size: int | None = None
) -> dict[str, Any]:
    """The proof that ``event_id`` is in its log, against the latest (or a given) checkpoint."""
    entry = entry_by_event_id(conn, event_id)
    if entry is None:
        raise ProofUnavailableError(f"No entry with event id {event_id} is in the ledger.")
    log_id, seq = entry.log_id, entry.seq
    if tree_size is None:
        cp = latest_checkpoint(conn, log_id, covering=seq)
    else:
        cp = checkpoint_at(conn, log_id, tree_size)
    if cp is None or cp.tree_size <= seq:
        raise ProofUnavailableError(
            f"Entry {seq} of {log_id} is not covered by a signed checkpoint yet; try again shortly."
        )
    size = cp.tree_size
    return {
        "log": log_id,
        "leaf_index": seq,
        "tree_size": size,
        "leaf_hash": _b64(entry.leaf_hash),
        "value": _b64(entry.value),
        "hashes": _stored_proof(
            conn, log_id, merkle.inclusion_plan, merkle.inclusion_proof_from_nodes, seq, size
        ),
        "checkpoint": cp.note,
    }


def consistency_proof_json(
    conn: Connection, log_id: str, old_size: int, new_size: int
) -> dict[str, Any]:
    """The proof that the log of ``new_size`` extends the one of ``old_size`` unchanged."""
    if not 0 < old_size <= new_size:
        raise ProofUnavailableError("Sizes must satisfy 0 < old <= new.")
    old_cp, new_cp = checkpoint_at(conn, log_id, old_size), checkpoint_at(conn, log_id, new_size)
    if old_cp is None or new_cp is None:
        sizes = recent_sizes(conn, log_id)
        missing = old_size if old_cp is None else new_size
        raise ProofUnavailableError(
            f"{log_id} has no signed checkpoint of size {missing}; recent sizes: {sizes or 'none'}."
        )
    hashes = _stored_proof(
        conn,
        log_id,
        merkle.consistency_plan,
        merkle.consistency_proof_from_nodes,
        old_size,
        new_size,
    )
    return {
        "log": log_id,
        "old_size": old_size,
        "new_size": new_size,
        "old_checkpoint": old_cp.note,
        "new_checkpoint": new_cp.note,
        "hashes": hashes,
    }
