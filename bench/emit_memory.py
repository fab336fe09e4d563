"""`ledger emit --file` of a large file: its rate beside raw produce, and its peak memory.

Writes N DisclosureRecorded events as JSON lines (generated and written in chunks, so this
process stays small), sends the same number of pre-encoded messages with raw kafka-python (the
baseline, EventProducer's settings, in chunks), then runs `ledger emit --file` on the file while
sampling the resident memory of its whole process tree (the command and its workers) from /proc.

Usage: python -m bench.emit_memory [N]   (default 2000000)
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient

from bench.common import bench_ledger, disclosures, ledger_env, report
from bench.process_memory import run_measured
from bench.vs_connect import PRODUCER, json_line
from ledger.codec import EventCodec
from ledger.config import Topics
from ledger.kafka.client import client_config
from ledger.kafka.topics import ensure_topics
from ledger.store.migrate import drop_schema

CHUNK = 100_000
MIB = 1024 * 1024


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.emit_memory")
    ap.add_argument("n", nargs="?", type=int, default=2_000_000, help="lines (default 2000000)")
    args = ap.parse_args(argv)
    n = args.n
    ledger = bench_ledger("emitmemory")
    scratch = Topics(ledger.topics.prefix + "scratch.")
    ensure_topics(ledger.bootstrap, scratch, ledger.settings.partitions)
    codec = EventCodec()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-emit-") as work:
            path = Path(work) / "events.jsonl"
            raw = KafkaProducer(**client_config(ledger.bootstrap), **PRODUCER)
            raw_seconds = 0.0
            with path.open("w", encoding="utf-8") as out:
                for done in range(0, n, CHUNK):
                    start = datetime(2023, 1, 1, 15, tzinfo=UTC) + timedelta(days=done // 200)
                    events = disclosures(min(CHUNK, n - done), start=start)
                    out.write("".join(json_line(e) + "\n" for e in events))
                    encoded = [
                        (codec.encode(e), e.key.encode(), [("event_type", e.event_type.encode())])
                        for e in events
                    ]
                    t0 = time.perf_counter()
                    for value, key, headers in encoded:
                        raw.send(scratch.dlq, value=value, key=key, headers=headers)
                    raw.flush()
                    raw_seconds += time.perf_counter() - t0
            raw.close()
            size = path.stat().st_size
            t0 = time.perf_counter()
            done_run, memory = run_measured(
                [sys.executable, "-m", "ledger", "emit", "--file", str(path)], ledger_env(ledger)
            )
            seconds = time.perf_counter() - t0
        if done_run.returncode != 0 or f"Sent {n} event" not in done_run.stdout:
            raise RuntimeError(
                f"ledger emit failed ({done_run.returncode}): {done_run.stderr[-2000:]}"
            )
    finally:
        with contextlib.suppress(Exception):  # a shared broker and server: leave nothing behind
            admin = KafkaAdminClient(**client_config(ledger.bootstrap))
            admin.delete_topics([*ledger.topics.all(), *scratch.all()])
            admin.close()
        with contextlib.suppress(Exception):
            drop_schema(ledger.admin_url, ledger.schema)
    raw_rate, emit_rate = n / raw_seconds, n / seconds
    report(
        f"`ledger emit --file` of {n:,} lines ({size / MIB:,.0f} MiB)",
        [
            ("raw kafka-python produce (pre-encoded, acks=all)", f"{raw_rate:,.0f} events/s"),
            ("`ledger emit --file` (command wall time)", f"{emit_rate:,.0f} events/s"),
            ("emit / raw produce", f"{emit_rate / raw_rate:.2f}x"),
            ("peak RSS, emit and its workers summed", f"{memory.peak_total / MIB:,.0f} MiB"),
            ("peak RSS, the emit process alone", f"{memory.peak_root / MIB:,.0f} MiB"),
        ],
    )


if __name__ == "__main__":
    main()
