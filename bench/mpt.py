"""The taxpayer index's Merkle Patricia Tree: lookup-with-proof latency, update rate, proof size,
beside torchwood's own Go benchmarks (filippo.io/torchwood v0.10.0, mpt) run in the same run.

    python -m bench.mpt [--sizes 100000,1000000] [--no-go | --go-only] [--stored]

Per size N: N taxpayers' index keys and values (docs/mpt.md's derivation, synthetic refs) built
into ledger.tlog.mpt_tree in one sorted pass; then lookups with proof (path + prove_lookup, the
work `ledger accounting` adds per taxpayer) for random present and absent taxpayers, p50/p99;
verification; the proof sizes; and "Set1K" as torchwood measures it (1,000 new keys set, then
the snapshot hash). With --stored, the tree is also written as node rows into a fresh schema
of the local PostgreSQL and the same lookups are made from there, as `ledger accounting`
answers now (path read node by node, proof, check against the snapshot). torchwood's mpt is `//go:build ignore` in v0.10.0, so its module is copied
from the Go module cache to a temporary directory and the tag removed to run its benchmarks
(BenchmarkSet1K_<N>, BenchmarkProofIn<N>, in-memory tree) with GOTOOLCHAIN=go1.27.3.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import hashlib
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from consumers.taxpayer_postings import Postings
from ledger.intake import build_event
from ledger.tlog import mpt
from ledger.tlog.mpt_tree import Tree
from ledger.tlog.taxpayer_index import Position, index_key, index_value

K = b"bench taxpayer key, 32 bytes ...."
SAMPLES = 2000
GO_NAMES = {100_000: "100K", 1_000_000: "1M", 10_000_000: "10M"}


def _pairs(n: int) -> list[tuple[bytes, bytes]]:
    out = []
    for i in range(n):
        key = index_key(K, hashlib.sha256(b"ref %d" % i).digest())
        out.append((key, index_value(K, key, [Position("disclosures/0", i)])))
    out.sort()
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def python_figures(n: int, stored: bool = False) -> dict[str, float]:
    rnd = random.Random(n)
    t0 = time.perf_counter()
    pairs = _pairs(n)
    t1 = time.perf_counter()
    tree = Tree.from_sorted(pairs)
    t2 = time.perf_counter()
    # A long-lived index moves its nodes out of the cyclic collector's view once loaded (they
    # hold no cycles); without this, full collections over millions of nodes are the p99.
    gc.collect()
    gc.freeze()
    snap = tree.snapshot()
    present = [pairs[rnd.randrange(n)][0] for _ in range(SAMPLES // 2)]
    absent = [hashlib.sha256(b"absent %d" % i).digest() for i in range(SAMPLES // 2)]
    lookups, verifies, sizes = [], [], {"present": [0], "absent": [0]}
    for key in present + absent:
        a = time.perf_counter()
        val, proof = mpt.prove_lookup(key, tree.path(key))
        b = time.perf_counter()
        mpt.verify_lookup(snap, key, val, proof)
        c = time.perf_counter()
        lookups.append((b - a) * 1e3)
        verifies.append((c - b) * 1e3)
        sizes["absent" if val is None else "present"].append(len(proof))
    from_db = _stored_figures(tree, present + absent) if stored else {}
    new = [(hashlib.sha256(b"new %d" % i).digest(), b"v" * 32) for i in range(1000)]
    d = time.perf_counter()
    for key, val in new:
        tree.set(key, val)
    tree.snapshot()
    set1k = time.perf_counter() - d
    indexed = _index_rate(tree)
    return {
        "keys": n,
        "derive_s": t1 - t0,
        "build_s": t2 - t1,
        "lookup_proof_p50_ms": _pct(lookups, 0.50),
        "lookup_proof_p99_ms": _pct(lookups, 0.99),
        "verify_p99_ms": _pct(verifies, 0.99),
        "proof_bytes_present_mean": statistics.mean(sizes["present"][1:]),
        "proof_bytes_absent_mean": statistics.mean(sizes["absent"][1:]),
        "proof_bytes_max": max(sizes["present"] + sizes["absent"]),
        "set1k_ms": set1k * 1e3,
        "updates_per_s": 1000 / set1k,
        "index_entries_per_s": indexed,
        **from_db,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _stored_figures(tree: Tree, keys: list[bytes]) -> dict[str, float]:
    """The same lookups as an answer makes them: the key's path read from the MPT nodes stored
    in PostgreSQL (a fresh schema of the local server, the whole tree stored as one snapshot),
    the lookup proof, and its check against the snapshot hash. No tree in memory is used."""
    from bench.common import bench_ledger
    from ledger.store.connection import connection, transaction
    from ledger.store.taxpayer_index import insert_nodes, path_records
    from ledger.tlog.mpt_nodes import all_records, stored_path

    ledger = bench_ledger("mpt", partitions=1)
    snap = tree.snapshot()
    with connection(ledger.admin_url, ledger.schema) as conn:
        a = time.perf_counter()
        with transaction(conn):
            stored = insert_nodes(conn, 0, all_records(tree))
        b = time.perf_counter()
        conn.execute("ANALYZE taxpayer_index_nodes")
        size = conn.execute("SELECT pg_total_relation_size('taxpayer_index_nodes')").fetchone()
        lookups = []
        for key in keys:
            c = time.perf_counter()
            root, path = stored_path(key, path_records(conn, 0, key).get)
            val, proof = mpt.prove_lookup(key, path)
            mpt.verify_lookup(snap, key, val, proof)
            lookups.append((time.perf_counter() - c) * 1e3)
            assert root == snap
        conn.execute(f'DROP SCHEMA "{ledger.schema}" CASCADE')  # millions of rows: not kept
    return {
        "stored_nodes": stored,
        "store_nodes_s": b - a,
        "stored_mb": (size[0] if size else 0) / 2**20,
        "stored_lookup_proof_verify_p50_ms": _pct(lookups, 0.50),
        "stored_lookup_proof_verify_p99_ms": _pct(lookups, 0.99),
    }


def _index_rate(tree: Tree, entries: int = 5000) -> float:
    """Disclosures (one new taxpayer each) applied per second as the indexer applies them:
    postings, index key and value, MPT set; decoding and PostgreSQL are not in this figure."""
    event = build_event(
        {"type": "DisclosureRecorded", "disclosure_id": "D-0", "source_agency": "IRS",
         "recipient_agency": "ICE", "legal_authority": "26 U.S.C. 6103(i)(2)",
         "purpose": "bench", "nature": "LAST_KNOWN_ADDRESS",
         "transmitted_at": "2025-08-07T12:00:00Z", "record_count": 1, "tax_periods": ["2024"],
         "data_categories": ["address"]}
    )  # fmt: skip
    events = [
        dataclasses.replace(
            event, disclosure_id=f"D-{i}", taxpayer_refs=(hashlib.sha256(b"t%d" % i).hexdigest(),)
        )
        for i in range(entries)
    ]
    postings = Postings(K)
    start = time.perf_counter()
    for i, e in enumerate(events):
        for key, value in postings.entries(postings.apply(Position("bench/0", i), e)):
            tree.set(key, value)
    tree.snapshot()
    return entries / (time.perf_counter() - start)


def go_figures(sizes: list[int]) -> str:
    """torchwood's benchmark lines for the sizes it has, or why they did not run."""
    go = shutil.which("go")
    names = [GO_NAMES[n] for n in sizes if n in GO_NAMES]
    if go is None or not names:
        return "torchwood: not run (no Go toolchain, or no size torchwood benchmarks)"
    env = {**os.environ, "GOTOOLCHAIN": "go1.27.3"}
    got = subprocess.run(
        [go, "mod", "download", "-json", "filippo.io/torchwood@v0.10.0"],
        cwd=tempfile.gettempdir(), env=env, capture_output=True, text=True, check=False,
        timeout=600,
    )  # fmt: skip
    if got.returncode != 0:
        return f"torchwood: not run (module not fetched: {got.stderr.strip()[-200:]})"
    with tempfile.TemporaryDirectory() as tmp:
        module = Path(tmp) / "torchwood"
        shutil.copytree(json.loads(got.stdout)["Dir"], module)
        for path in (module / "mpt").glob("*.go"):
            text = path.read_text()
            if "\npackage mpt\n" in text:  # mptload.go is a command: it stays ignored
                path.chmod(0o644)
                path.write_text(text.replace("//go:build ignore\n", "", 1))
        which = "|".join(f"BenchmarkSet1K_{s}|BenchmarkProofIn{s}" for s in names)
        run = subprocess.run(
            [go, "test", "-run", "^$", "-bench", f"^({which})$/^impl=mem$", "-benchmem",
             "-timeout", "3h", "./mpt/"],
            cwd=module, env=env, capture_output=True, text=True, check=False, timeout=3 * 3600,
        )  # fmt: skip
        lines = [ln for ln in run.stdout.splitlines() if ln.startswith(("Benchmark", "cpu:"))]
        if run.returncode != 0 or not lines:
            return f"torchwood: benchmarks failed: {(run.stdout + run.stderr).strip()[-400:]}"
        return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--no-go", action="store_true")
    parser.add_argument("--go-only", action="store_true")
    parser.add_argument(
        "--stored", action="store_true", help="also from MPT nodes in PostgreSQL, as answers read"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    for n in [] if args.go_only else sizes:
        figures = python_figures(n, args.stored)
        print(" ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in figures.items()))  # fmt: skip
    if not args.no_go:
        print(go_figures(sizes))


if __name__ == "__main__":
    main()
