"""Inclusion and consistency proofs from the stored tree, in the JSON a court is handed."""

from __future__ import annotations

import base64
from typing import Any

import psycopg

from ledger.errors import LedgerError
from ledger.store.entries import fetch_nodes
from ledger.tlog import merkle


class ProofUnavailableError(LedgerError):
    """No entry, or no checkpoint yet that covers it."""

    exit_code = 7


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def checkpoint_at(conn: psycopg.Connection, log_id: str, size: int) -> str | None:
    row = conn.execute(
        "SELECT note FROM checkpoints WHERE log_id = %s AND tree_size = %s", (log_id, size)
    ).fetchone()
    return None if row is None else str(row[0])


def inclusion_proof_json(
    conn: psycopg.Connection, event_id: str, tree_size: int | None = None
) -> dict[str, Any]:
    """The proof that ``event_id`` is in its log, against the latest (or a given) checkpoint."""
    row = conn.execute(
        "SELECT log_id, seq, value, leaf_hash FROM entries WHERE event_id = %s::uuid", (event_id,)
    ).fetchone()
    if row is None:
        raise ProofUnavailableError(f"No entry with event id {event_id} is in the ledger.")
    log_id, seq, value, leaf = row[0], int(row[1]), bytes(row[2]), bytes(row[3])
    if tree_size is None:
        cp = conn.execute(
            "SELECT tree_size, note FROM checkpoints WHERE log_id = %s AND tree_size > %s"
            " ORDER BY tree_size DESC LIMIT 1",
            (log_id, seq),
        ).fetchone()
    else:
        cp = conn.execute(
            "SELECT tree_size, note FROM checkpoints WHERE log_id = %s AND tree_size = %s",
            (log_id, tree_size),
        ).fetchone()
    if cp is None or int(cp[0]) <= seq:
        raise ProofUnavailableError(
            f"Entry {seq} of {log_id} is not covered by a signed checkpoint yet; try again shortly."
        )
    size = int(cp[0])
    nodes = fetch_nodes(conn, log_id, merkle.inclusion_plan(seq, size))
    hashes = merkle.inclusion_proof_from_nodes(seq, size, nodes)
    return {
        "log": log_id,
        "leaf_index": seq,
        "tree_size": size,
        "leaf_hash": _b64(leaf),
        "value": _b64(value),
        "hashes": [_b64(h) for h in hashes],
        "checkpoint": str(cp[1]),
    }


def consistency_proof_json(
    conn: psycopg.Connection, log_id: str, old_size: int, new_size: int
) -> dict[str, Any]:
    """The proof that the log of ``new_size`` extends the one of ``old_size`` unchanged."""
    if not 0 < old_size <= new_size:
        raise ProofUnavailableError("Sizes must satisfy 0 < old <= new.")
    old_note, new_note = (
        checkpoint_at(conn, log_id, old_size),
        checkpoint_at(conn, log_id, new_size),
    )
    if old_note is None or new_note is None:
        sizes = [
            int(r[0])
            for r in conn.execute(
                "SELECT tree_size FROM checkpoints WHERE log_id = %s ORDER BY tree_size DESC LIMIT 10",
                (log_id,),
            )
        ]
        missing = old_size if old_note is None else new_size
        raise ProofUnavailableError(
            f"{log_id} has no signed checkpoint of size {missing}; recent sizes: {sizes or 'none'}."
        )
    nodes = fetch_nodes(conn, log_id, merkle.consistency_plan(old_size, new_size))
    hashes = merkle.consistency_proof_from_nodes(old_size, new_size, nodes)
    return {
        "log": log_id,
        "old_size": old_size,
        "new_size": new_size,
        "old_checkpoint": old_note,
        "new_checkpoint": new_note,
        "hashes": [_b64(h) for h in hashes],
    }
