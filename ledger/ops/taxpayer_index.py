"""The taxpayer index for officials: update it, rebuild it from the log and compare, answer a
lookup with its MPT proof and the listed entries' inclusion proofs."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from consumers.taxpayer_index import TaxpayerIndexer, rebuild
from consumers.taxpayer_index_service import index_origin as index_origin
from consumers.taxpayer_index_service import indexer_for as indexer_for
from consumers.taxpayer_index_service import update_index as update_index
from ledger.errors import VerificationError
from ledger.ops.proofs import ProofUnavailableError, inclusion_proof_json
from ledger.runtime import Ledger
from ledger.store import Connection
from ledger.store import taxpayer_index as store
from ledger.store.connection import connection
from ledger.tlog import merkle, mpt
from ledger.tlog.mpt_nodes import StoredTreeError, stored_path
from ledger.tlog.taxpayer_index import index_key
from ledger.tlog.tlog_proof import from_inclusion_json


class IndexUnavailableError(ProofUnavailableError):
    """No signed snapshot of the taxpayer index yet."""


@dataclass(frozen=True)
class IndexMismatch:
    snapshot_seq: int
    what: str


def verify_index(ledger: Ledger) -> IndexMismatch | None:
    """Rebuild the index from the log, snapshot by snapshot: the first stored snapshot (index
    log leaf) that differs, or stored postings that differ from the rebuilt ones."""
    indexer = indexer_for(ledger)
    fresh = TaxpayerIndexer(indexer.taxpayer_key, ledger.topics.disclosures, indexer.origin_of)
    last = None
    with connection(ledger.reader_url, ledger.schema) as conn:
        for stored, snapshot, leaf in rebuild(conn, fresh):
            if snapshot != stored.snapshot:
                return IndexMismatch(stored.seq, "its snapshot hash is not the log's")
            if leaf != stored.leaf:
                return IndexMismatch(stored.seq, "its leaf is not the log's")
            last = stored.seq
        try:
            indexer.load(conn)
        except VerificationError:  # they do not give the latest snapshot: nor the log's lists
            loaded = False
        else:
            loaded = True
    if last is not None and (not loaded or indexer.postings.by_key != fresh.postings.by_key):
        return IndexMismatch(last, "the stored postings are not the log's")
    return None


def index_answer(conn: Connection, indexer: TaxpayerIndexer, ref: str) -> dict[str, Any]:
    """The index's answer for one taxpayer (by stored ref) at its latest signed snapshot: key,
    value (None when absent), the MPT proof, and each listed entry's inclusion proof. It reads
    the key's path from the stored nodes (never the whole index) and checks the proof against
    the snapshot hash before handing it out."""
    latest = store.latest_snapshot(conn)
    signed = store.latest_index_checkpoint(conn)
    if latest is None or signed is None or signed[0] != latest.seq + 1:
        raise IndexUnavailableError("The taxpayer index has no signed snapshot yet.")
    key = index_key(indexer.taxpayer_key, ref)
    try:
        snapshot, path = stored_path(key, store.path_records(conn, latest.seq, key).get)
        value, proof = mpt.prove_lookup(key, path)
        mpt.verify_lookup(latest.snapshot, key, value, proof)
    except (StoredTreeError, VerificationError) as exc:
        raise IndexUnavailableError(
            "The taxpayer index's stored tree does not give a proof for its signed snapshot"
            f" ({exc}); it is written again when the index consumer next starts."
        ) from None
    covered = {c.log_id: c.tree_size for c in latest.covered}
    positions = [
        (log, seq)  # postings a newer, uncommitted-for-us snapshot added are not this one's
        for log, seq in (store.positions_of(conn, key) if value is not None else [])
        if seq < covered.get(log, 0)
    ]
    entries = []
    for log, seq in positions:
        inclusion = inclusion_proof_json(conn, store.event_id_at(conn, log, seq))
        # The same proof as a C2SP tlog-proof@v1 file's text, for tools that read that form.
        text = from_inclusion_json(inclusion).to_text()
        entries.append({"log": log, "index": seq, "proof": inclusion, "tlog_proof": text})
    leaves = store.leaves(conn, signed[0])
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
    return {
        "snapshot": snapshot.hex(),
        "key": key.hex(),
        "value": None if value is None else value.hex(),
        "proof": proof.hex(),
        "entries": entries,
        "index_log": {
            "leaf_index": latest.seq,
            "leaf": base64.b64encode(leaves[latest.seq]).decode("ascii"),
            "hashes": [
                base64.b64encode(h).decode("ascii")
                for h in merkle.inclusion_proof(hashes, latest.seq, signed[0])
            ],
            "checkpoint": signed[1],
        },
    }
