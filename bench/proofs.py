"""Proof latency on a large log, and what keeping the Merkle tree costs per appended entry.

    python -m bench.proofs [ENTRIES]        (default 1,000,000)

Builds one log of ENTRIES entries on the real PostgreSQL with the audit-log consumer's own code
(leaf and chain hashing, the compact range, COPY of entries and of tree nodes) in the consumer's
batch size, timing the entry rows (the baseline: what a ledger without a tree would write) apart
from the tree work (compact-range appends and the COPY of the nodes they complete). Kafka is not
involved: it is not what is measured here (see bench.end_to_end for that).

Then it asks for inclusion proofs of random entries and consistency proofs between signed sizes,
the way `ledger proof` and the API do, beside a plain primary-key lookup of the same entries and a
recomputation of the root from all leaves (the cost a tree-less design pays for every proof).
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime

from bench.common import bench_ledger, disclosures, report
from consumers.checkpointer import Checkpointer
from ledger.codec import EventCodec
from ledger.keys import load_signers, signing_key_path
from ledger.ops.proofs import consistency_proof_json, inclusion_proof_json
from ledger.runtime import Ledger
from ledger.store import entries as store
from ledger.store.connection import connection
from ledger.tlog import merkle
from ledger.tlog.chain import chain_hash, leaf_hash
from ledger.tlog.merkle import CompactRange
from ledger.tlog.note import Verifier
from ledger.tlog.offline import check_consistency, check_inclusion

BATCH = 5000  # the consumer's max_poll_records
SAMPLES = 1000


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ms(values: list[float]) -> str:
    return f"p50 {percentile(values, 50) * 1e3:.2f} ms, p99 {percentile(values, 99) * 1e3:.2f} ms"


def checkpoint_interval(n: int) -> int:
    """Ten signed sizes along the log (100,000 apart for a million), on batch boundaries."""
    return max(BATCH, n // 10 // BATCH * BATCH)


def build_log(ledger: Ledger, n: int) -> tuple[str, list[bytes], bytes, dict[str, float]]:
    codec = EventCodec()
    log_id = store.log_id_for(ledger.topics.disclosures, 0)
    tree = CompactRange()
    checkpointer = Checkpointer(ledger.settings)
    leaves: list[bytes] = []
    previous = bytes(32)
    timing = {
        "prepare": 0.0,
        "entries_copy": 0.0,
        "tree_append": 0.0,
        "nodes_copy": 0.0,
        "nodes": 0,
    }
    now = datetime.now(UTC)
    started = time.perf_counter()
    with connection(ledger.admin_url, ledger.schema) as conn:
        for first in range(0, n, BATCH):
            t0 = time.perf_counter()
            events = disclosures(min(BATCH, n - first))
            rows = []
            for i, event in enumerate(events):
                value = codec.encode(event)
                leaf = leaf_hash(value)
                previous = chain_hash(previous, leaf)
                seq = first + i
                rows.append(
                    store.EntryRow(
                        log_id,
                        seq,
                        ledger.topics.disclosures,
                        0,
                        seq,
                        event.event_id,
                        event.event_type,
                        event.occurred_at,
                        now,
                        value,
                        '{"bench": true}',
                        leaf,
                        previous,
                    )
                )
                leaves.append(leaf)
            t1 = time.perf_counter()
            store.copy_entries(conn, rows)
            t2 = time.perf_counter()
            nodes: list[tuple[int, int, bytes]] = []
            for row in rows:
                nodes.extend(tree.append(row.leaf_hash))
            t3 = time.perf_counter()
            store.copy_nodes(conn, log_id, nodes)
            t4 = time.perf_counter()
            if tree.size % checkpoint_interval(n) == 0 or tree.size == n:
                checkpointer.write(conn, log_id, tree)
            conn.commit()
            timing["prepare"] += t1 - t0
            timing["entries_copy"] += t2 - t1
            timing["tree_append"] += t3 - t2
            timing["nodes_copy"] += t4 - t3
            timing["nodes"] += len(nodes)
            if (first // BATCH) % 40 == 0:
                print(f"  built {tree.size:,} / {n:,} entries", file=sys.stderr)
        conn.execute("ANALYZE entries")
        conn.execute("ANALYZE tree_nodes")
        conn.commit()
    timing["build_wall"] = time.perf_counter() - started
    return log_id, leaves, tree.root(), timing


def main(n: int = 1_000_000) -> None:
    ledger = bench_ledger("proofs", partitions=1)
    print(f"Building a log of {n:,} entries in {ledger.schema}...", file=sys.stderr)
    log_id, leaves, tree_root, t = build_log(ledger, n)
    verifiers = [
        Verifier.from_vkey(s.vkey) for s in load_signers(signing_key_path(ledger.settings))
    ]
    rng = random.Random(6962)

    with connection(ledger.reader_url, ledger.schema, autocommit=True) as conn:
        seqs = rng.sample(range(n), SAMPLES)
        ids = dict(
            conn.execute(
                "SELECT seq, event_id::text FROM entries WHERE log_id = %s AND seq = ANY(%s)",
                (log_id, seqs),
            ).fetchall()
        )
        lookup, inclusion, offline, path_lengths = [], [], [], []
        for seq in seqs:
            a = time.perf_counter()
            conn.execute(
                "SELECT value FROM entries WHERE event_id = %s::uuid", (ids[seq],)
            ).fetchone()
            b = time.perf_counter()
            proof = inclusion_proof_json(conn, ids[seq])
            path_lengths.append(len(proof["hashes"]))
            c = time.perf_counter()
            check_inclusion(proof, verifiers)
            d = time.perf_counter()
            assert proof["leaf_index"] == seq
            assert proof["tree_size"] == n
            lookup.append(b - a)
            inclusion.append(c - b)
            offline.append(d - c)

        every = checkpoint_interval(n)
        sizes = [*range(every, n, every), n]
        pairs = [(a, b) for a in sizes for b in sizes if a < b] or [(n, n)]
        consistency, consistency_lengths = [], []
        for _ in range(10):
            for old, new in pairs:
                a = time.perf_counter()
                proof = consistency_proof_json(conn, log_id, old, new)
                consistency.append(time.perf_counter() - a)
                consistency_lengths.append(len(proof["hashes"]))
        for old, new in pairs:
            check_consistency(consistency_proof_json(conn, log_id, old, new), verifiers)

    a = time.perf_counter()
    root = merkle.root_from_leaf_hashes(leaves)
    rehash = time.perf_counter() - a
    assert root == tree_root, "the stored tree disagrees with a recomputation from the leaves"

    per = 1e6 / n
    tree_cost = t["tree_append"] + t["nodes_copy"]
    report(
        f"Merkle tree upkeep while appending {n:,} entries (batches of {BATCH:,})",
        [
            (
                "entry rows COPY (baseline)",
                f"{t['entries_copy'] * per:.1f} us/entry ({n / t['entries_copy']:,.0f} rows/s)",
            ),
            ("tree: compact-range append", f"{t['tree_append'] * per:.1f} us/entry"),
            (
                "tree: COPY of completed nodes",
                f"{t['nodes_copy'] * per:.1f} us/entry ({t['nodes'] / n:.2f} nodes/entry)",
            ),
            (
                "tree upkeep total",
                f"{tree_cost * per:.1f} us/entry = {tree_cost / t['entries_copy']:.2f}x the entry COPY",
            ),
            ("event encode + hashing (not tree)", f"{t['prepare'] * per:.1f} us/entry"),
            ("build wall time", f"{t['build_wall']:.1f} s"),
        ],
    )
    report(
        f"Proofs on a {n:,}-entry log ({SAMPLES} random entries; {len(pairs)} size pairs x 10)",
        [
            ("primary-key lookup (baseline)", ms(lookup)),
            ("inclusion proof (as `ledger proof`)", ms(inclusion)),
            (
                "inclusion / lookup (p50)",
                f"{percentile(inclusion, 50) / percentile(lookup, 50):.1f}x",
            ),
            ("consistency proof", ms(consistency)),
            ("offline verification of a proof", ms(offline)),
            (
                "recomputing the root from all leaves",
                f"{rehash * 1e3:,.0f} ms (what every proof would cost without stored nodes)",
            ),
            (
                "hashes per proof",
                f"inclusion {min(path_lengths)}-{max(path_lengths)}, consistency {min(consistency_lengths)}-{max(consistency_lengths)}",
            ),
        ],
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
