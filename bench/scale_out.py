"""Audit-log throughput with 1, 2 and 3 `ledger consume --only audit_log` processes.

The audit log is one log per partition, so it scales out through the consumer group: each
process owns some partitions and appends to their logs. The same N events (3 partitions) are
consumed into a fresh schema per run; the clock runs from the processes' start until every
partition's stored offset reaches the log end.

Usage: python -m bench.scale_out [N]   (default 200000)
"""

from __future__ import annotations

import dataclasses
import sys
import time

from bench.common import bench_ledger, consumer_processes, disclosures, report, stop_processes
from ledger.kafka.offsets import log_end_offsets
from ledger.kafka.producer import EventProducer
from ledger.ops.rebuild import wait_for_live
from ledger.runtime import open_ledger


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    base = bench_ledger("scale")
    with EventProducer(base.bootstrap, base.topics.disclosures) as producer:
        for i in range(0, n, 20_000):
            producer.send(disclosures(min(20_000, n - i)))
    ends = log_end_offsets(base.bootstrap, base.topics.disclosures)
    rows = []
    for processes in (1, 2, 3):
        # A fresh schema per run over the same topic: every run appends the same logs from 0.
        settings = dataclasses.replace(base.settings, db_schema=f"{base.schema}_x{processes}")
        ledger = open_ledger(settings)
        started = time.perf_counter()
        procs = consumer_processes(ledger, ["audit_log"] * processes)
        try:
            if not wait_for_live(ledger.admin_url, ledger.schema, ["audit_log"], ends, 1800):
                raise SystemExit(f"{processes} process(es) did not finish within 30 minutes")
            seconds = time.perf_counter() - started
        finally:
            stop_processes(procs)
        rows.append((f"{processes} process(es)", f"{n / seconds:,.0f} events/s ({seconds:.1f} s)"))
    report(f"audit log, {n:,} events, 3 partitions", rows)


if __name__ == "__main__":
    main()
