"""Producer throughput: raw kafka-python produce, EventProducer and `ledger emit --file`, one run.

The same N DisclosureRecorded events (3 partitions, acks=all, idempotent) three ways, each into
a fresh topic of its own: kafka-python sending pre-encoded bytes (the raw baseline, with
EventProducer's settings), EventProducer.send (encode + send + acks), and `ledger emit --file`
of the events as JSON lines (the command's wall time: start-up, parse, validate, encode, send).
Repeated ``--runs`` times (default 3); medians, each run's figure, and the ratios to raw.

Usage: python -m bench.producer_throughput [N] [--runs R]   (default 100000, 3 runs)
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient

from bench.common import bench_ledger, disclosures, ledger_env, report
from bench.vs_connect import PRODUCER, json_line
from ledger.codec import EventCodec
from ledger.config import Topics
from ledger.kafka.client import client_config
from ledger.kafka.producer import EventProducer
from ledger.kafka.topics import ensure_topics
from ledger.store.migrate import drop_schema

STEPS = ("raw", "producer", "emit", "encode")


def one_run(n: int, run: int, work: Path) -> dict[str, float]:
    """Events/s of each step (and of Avro encoding alone), on topics of this run's own."""
    ledger = bench_ledger(f"producer{run}")
    scratch = Topics(ledger.topics.prefix + "scratch.")
    ensure_topics(ledger.bootstrap, scratch, ledger.settings.partitions)
    events = disclosures(n)
    codec = EventCodec()
    rates: dict[str, float] = {}
    try:
        t0 = time.perf_counter()
        encoded = [
            (codec.encode(e), e.key.encode(), [("event_type", e.event_type.encode())])
            for e in events
        ]
        rates["encode"] = n / (time.perf_counter() - t0)

        raw = KafkaProducer(**client_config(ledger.bootstrap), **PRODUCER)
        t0 = time.perf_counter()
        for value, key, headers in encoded:
            raw.send(scratch.dlq, value=value, key=key, headers=headers)
        raw.flush()
        rates["raw"] = n / (time.perf_counter() - t0)
        raw.close()
        del encoded

        with EventProducer(ledger.bootstrap, scratch.disclosures) as producer:
            t0 = time.perf_counter()
            producer.send(events)
            rates["producer"] = n / (time.perf_counter() - t0)

        path = work / f"{ledger.schema}.jsonl"
        path.write_text("".join(json_line(e) + "\n" for e in events), encoding="utf-8")
        del events
        t0 = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "ledger", "emit", "--file", str(path)],
            env=ledger_env(ledger),
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - t0
        path.unlink()
        if done.returncode != 0 or f"Sent {n} event" not in done.stdout:
            raise RuntimeError(f"ledger emit failed ({done.returncode}): {done.stderr[-2000:]}")
        rates["emit"] = n / seconds
    finally:
        with contextlib.suppress(Exception):  # a shared broker and server: leave nothing behind
            admin = KafkaAdminClient(**client_config(ledger.bootstrap))
            admin.delete_topics([*ledger.topics.all(), *scratch.all()])
            admin.close()
        with contextlib.suppress(Exception):
            drop_schema(ledger.admin_url, ledger.schema)
    print(
        f"# run {run + 1}: " + ", ".join(f"{k} {v:,.0f}/s" for k, v in rates.items()),
        file=sys.stderr,
        flush=True,
    )
    return rates


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.producer_throughput")
    ap.add_argument("n", nargs="?", type=int, default=100_000, help="events (default 100000)")
    ap.add_argument("--runs", type=int, default=3, help="runs; medians reported (default 3)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-producer-") as work:
        runs = [one_run(args.n, r, Path(work)) for r in range(args.runs)]
    med = {k: median(r[k] for r in runs) for k in STEPS}

    def row(k: str) -> str:
        spread = (max(r[k] for r in runs) - min(r[k] for r in runs)) / med[k]
        each = ", ".join(f"{r[k]:,.0f}" for r in runs)
        return (
            f"{med[k]:,.0f} events/s, {1e6 / med[k]:.1f} µs/event"
            f"  (runs: {each}; spread {spread:.0%})"
        )

    report(
        f"producer throughput, {args.n:,} DisclosureRecorded events, median of {args.runs} run(s)",
        [
            ("raw kafka-python produce (pre-encoded, acks=all, idempotent)", row("raw")),
            ("EventProducer (encode + send + acks)", row("producer")),
            ("`ledger emit --file` (command wall time)", row("emit")),
            ("Avro encode alone (EventCodec.encode)", row("encode")),
        ],
    )
    report(
        "Ratios (of the medians)",
        [
            ("EventProducer / raw produce", f"{med['producer'] / med['raw']:.2f}x"),
            ("emit / raw produce", f"{med['emit'] / med['raw']:.2f}x"),
        ],
    )


if __name__ == "__main__":
    main()
