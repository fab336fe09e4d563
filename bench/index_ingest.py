"""The taxpayer index's update rate while the ledger ingests (issue 25's goal: the index is never
the slowest consumer).

`ledger consume`'s consumers run as a deployment runs them (one `ledger consume --only NAME`
process each: audit_log, volume, taxpayer_index) while N disclosures, each naming 1-3 taxpayers
from a pool, are sent in chunks. Every second it samples how far the audit log, the signed
checkpoints, the volume consumer and the index's newest snapshot have come. It prints, not
asserts: when each caught up, the index's entries and postings (taxpayer key updates) per second
over the run, the number of snapshots, the largest lag of the index behind the signed
checkpoints, and how long after the checkpoints the index did.

Usage: python -m bench.index_ingest [N] [--taxpayers T]   (defaults 20000, 5000)
"""

from __future__ import annotations

import argparse
import dataclasses
import threading
import time

from bench.common import bench_ledger, consumer_processes, disclosures, report, stop_processes
from ledger.kafka.producer import EventProducer
from ledger.privacy import load_taxpayer_key, taxpayer_key_path, taxpayer_ref
from ledger.runtime import Ledger
from ledger.store.connection import connection

CHUNK = 1_000


def _sample(ledger: Ledger) -> tuple[int, int, int, int, int, int]:
    """(entries, checkpointed, indexed entries, postings, snapshots) of the disclosure logs, and
    the records of the disclosures topic the volume consumer has stored."""
    like = ledger.topics.disclosures + "/%"
    with connection(ledger.admin_url, ledger.schema) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM entries WHERE log_id LIKE %(l)s),"
            " (SELECT coalesce(sum(s), 0) FROM (SELECT max(tree_size) s FROM checkpoints"
            "   WHERE log_id LIKE %(l)s GROUP BY log_id) x),"
            " (SELECT coalesce(sum(tree_size), 0) FROM taxpayer_index_coverage WHERE snapshot_seq"
            "   = (SELECT max(snapshot_seq) FROM taxpayer_index_snapshots)),"
            " (SELECT count(*) FROM taxpayer_index_postings),"
            " (SELECT count(*) FROM taxpayer_index_snapshots),"
            " (SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets"
            "   WHERE consumer = 'volume' AND topic = %(t)s)",
            {"l": like, "t": ledger.topics.disclosures},
        ).fetchone()
    assert row is not None
    return tuple(int(v) for v in row)  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=20_000)
    parser.add_argument("--taxpayers", type=int, default=5_000)
    args = parser.parse_args()
    n = args.n
    ledger = bench_ledger("index_ingest", partitions=3)
    key = load_taxpayer_key(taxpayer_key_path(ledger.settings))
    pool = [taxpayer_ref(key, f"{900_000_000 + i:09d}") for i in range(args.taxpayers)]
    events = [
        dataclasses.replace(
            d, taxpayer_refs=tuple(pool[(i * 7 + j) % len(pool)] for j in range(1 + i % 3))
        )
        for i, d in enumerate(disclosures(n))
    ]
    samples: list[tuple[float, tuple[int, int, int, int, int, int]]] = []
    stop = threading.Event()
    started = time.perf_counter()
    procs = consumer_processes(ledger, ["audit_log", "volume", "taxpayer_index"])

    def sampler() -> None:
        while not stop.wait(1.0):
            samples.append((time.perf_counter() - started, _sample(ledger)))

    t = threading.Thread(target=sampler, daemon=True)
    t.start()
    try:
        with EventProducer(ledger.bootstrap, ledger.topics.disclosures) as producer:
            for i in range(0, n, CHUNK):
                producer.send(events[i : i + CHUNK])
        sent = time.perf_counter() - started
        deadline = time.monotonic() + 3600
        while not samples or samples[-1][1][2] < n or samples[-1][1][5] < n:
            if time.monotonic() > deadline:
                raise SystemExit("the index did not cover every entry within an hour")
            time.sleep(0.5)
    finally:
        stop.set()
        t.join(5)
        stop_processes(procs)
    audit_done = next(s for s, v in samples if v[0] >= n)
    checkpointed = next(s for s, v in samples if v[1] >= n)
    indexed = next(s for s, v in samples if v[2] >= n)
    volume_done = next(s for s, v in samples if v[5] >= n)
    final = samples[-1][1]
    lag = max(v[1] - v[2] for _, v in samples)
    report(
        f"taxpayer index while the ledger ingests: {n:,} disclosures, {args.taxpayers:,} taxpayers,"
        " 3 partitions, one process per consumer",
        [
            ("sent (all events produced)", f"{sent:.1f} s"),
            ("audit log caught up", f"{audit_done:.1f} s ({n / audit_done:,.0f} entries/s)"),
            ("volume consumer caught up", f"{volume_done:.1f} s ({n / volume_done:,.0f} events/s)"),
            ("checkpoints cover every entry", f"{checkpointed:.1f} s"),
            ("index covers every entry", f"{indexed:.1f} s ({n / indexed:,.0f} entries/s)"),
            ("index postings (key updates)", f"{final[3]:,} ({final[3] / indexed:,.0f}/s)"),
            ("index snapshots (index-log leaves)", f"{final[4]:,}"),
            ("index behind the checkpoints, most", f"{lag:,} entries (sampled each second)"),
            ("index after the checkpoints", f"{indexed - checkpointed:.1f} s"),
        ],
    )


if __name__ == "__main__":
    main()
