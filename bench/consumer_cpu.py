"""CPU per event of each consumer alone, rebuilding the same backlog in this process.

The figure profiling starts from: N bench disclosures (3 partitions, sent as the ingest
benchmark sends them, so record batches interleave days as a live backlog does) are read from
offset 0 by one consumer at a time into a fresh schema, in this process (no worker), and the
process's CPU seconds and PostgreSQL's (the postmaster and its backends) are divided by N.
Profile one consumer with py-spy around it:
``py-spy record -r 200 -f raw -o F -- python -m bench.consumer_cpu 100000 --only volume``.

Usage: python -m bench.consumer_cpu [N] [--only audit_log|volume]   (default 100000, both)
"""

from __future__ import annotations

import argparse
import time

from bench.common import bench_ledger, report
from bench.harness import server_cpu_seconds, step
from bench.vs_connect import backlog
from consumers.audit_log import AuditLogConsumer
from consumers.base import Consumer
from consumers.volume import VolumeConsumer
from ledger.config import Settings
from ledger.kafka.producer import EventProducer
from ledger.localdev.process import read_pid
from ledger.ops.rebuild import rebuild
from ledger.rules.config import load_rules_config
from ledger.store.migrate import drop_schema


def consumer(name: str, settings: Settings) -> Consumer:
    if name == "audit_log":
        return AuditLogConsumer()
    rules = load_rules_config(settings.rules_file, settings.registry_file)
    return VolumeConsumer(rules, settings.timezone)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=100_000)
    parser.add_argument("--only", choices=("audit_log", "volume"))
    args = parser.parse_args()
    ledger = bench_ledger("cpu")
    step(f"sending {args.n:,} disclosures")
    with EventProducer(ledger.bootstrap, ledger.topics.disclosures) as producer:
        producer.send(backlog(args.n, 0))
    rows = []
    for name in [args.only] if args.only else ["audit_log", "volume"]:
        schema = f"{ledger.schema}_{name}"
        step(f"{name}: rebuilding {args.n:,} events into {schema}")
        pg = (
            read_pid(ledger.settings.data_dir / "postgres" / "data" / "postmaster.pid")
            if ledger.settings.database_url is None
            else None
        )
        pg_before = server_cpu_seconds(pg) if pg else 0.0
        wall, cpu = time.perf_counter(), time.process_time()
        read, _ = rebuild(
            ledger.bootstrap,
            ledger.admin_url,
            schema,
            ledger.topics.disclosures,
            [consumer(name, ledger.settings)],
            processes=1,
        )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        pg_cpu = (server_cpu_seconds(pg) - pg_before) if pg else float("nan")
        drop_schema(ledger.admin_url, schema)
        rows.append(
            (
                name,
                f"{cpu / read * 1e6:5.0f} µs/event CPU, PostgreSQL {pg_cpu / read * 1e6:4.0f} µs,"
                f" {read / wall:8,.0f} events/s ({read:,} in {wall:.1f} s)",
            )
        )
    report(f"One consumer at a time, N={args.n:,}, in this process", rows)


if __name__ == "__main__":
    main()
