"""The ledger's verifiable log beside Tessera's: the same entries, each appended durably.

One run on one machine, for each of ``--runs`` runs (medians reported):

- **Tessera** (github.com/transparency-dev/tessera, POSIX storage, pinned in bench/tessera/go.mod):
  a small Go program appends the N entries (the exact message bytes the ledger's log holds)
  in batches of ``--batch`` (default 1024, or whatever arrived within 100 ms), each batch
  integrated into the tlog-tiles tree with every file and directory fsynced, and waits for a
  signed checkpoint that covers the last entry.
- **The ledger's audit-log path**: the same N events already on the topic (sent beforehand, as
  agencies would), read from offset 0 by the audit-log consumer into a fresh schema: decoded,
  chained, Merkle tree nodes stored, entry rows COPYed, offsets committed in the same PostgreSQL
  transaction (``synchronous_commit`` on), checkpoints signed. The consumer's CPU and
  PostgreSQL's (the postmaster and its backends) are counted per event.

Usage: python -m bench.vs_tessera [N] [--runs R] [--batch B]   (default 200000, 3 runs)
Needs Go (the program is built on first use with GOTOOLCHAIN=go1.27.3 unless set).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import struct
import subprocess
import tempfile
import time
from pathlib import Path
from statistics import median

from bench.common import bench_ledger, report
from bench.harness import server_cpu_seconds, step
from bench.vs_connect import backlog
from consumers.audit_log import AuditLogConsumer
from consumers.checkpointer import checkpointer_for
from ledger.kafka.producer import EventProducer
from ledger.localdev.process import read_pid
from ledger.ops.rebuild import rebuild
from ledger.store.migrate import drop_schema
from ledger.tlog.note import Signer

HERE = Path(__file__).resolve().parent / "tessera"


def build_tessera(work: Path) -> Path:
    """The peer program, built from bench/tessera (its go.mod pins Tessera's version)."""
    go = shutil.which("go")
    if go is None:
        raise SystemExit("Go is needed for the Tessera side (https://go.dev/dl/).")
    binary = work / "tessera-append"
    env = {**os.environ}
    env.setdefault("GOTOOLCHAIN", "go1.27.3")
    subprocess.run([go, "build", "-o", str(binary), "."], cwd=HERE, env=env, check=True)
    return binary


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tessera_run(binary: Path, entries: Path, batch: int, work: Path) -> dict[str, float]:
    store = Path(tempfile.mkdtemp(prefix="tessera-log-", dir=work))
    key = work / "tessera.key"
    key.write_text(Signer.generate("bench.tessera").key_string)
    before, wall = children_cpu(), time.perf_counter()
    done = subprocess.run(
        [
            str(binary),
            f"-storage_dir={store}",
            f"-entries={entries}",
            f"-private_key={key}",
            f"-batch={batch}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    wall, cpu = time.perf_counter() - wall, children_cpu() - before
    shutil.rmtree(store, ignore_errors=True)
    if done.returncode != 0:
        raise RuntimeError(f"tessera-append failed: {done.stderr[-2000:]}")
    out = json.loads(done.stdout)
    n = int(out["entries"])
    return {"rate": n / float(out["seconds"]), "wall_rate": n / wall, "cpu_us": cpu / n * 1e6}


def ledger_run(n: int, run: int, entries: Path) -> dict[str, float]:
    ledger = bench_ledger(f"tessera{run}")
    step(f"run {run + 1}: sending {n:,} disclosures")
    events = backlog(n, 0)
    with EventProducer(ledger.bootstrap, ledger.topics.disclosures) as producer:
        with entries.open("wb") as out:
            for e in events:
                value = producer.encode(e).value
                out.write(struct.pack(">I", len(value)) + value)
        producer.send(events)
    del events
    schema = f"{ledger.schema}_log"
    pg = (
        read_pid(ledger.settings.data_dir / "postgres" / "data" / "postmaster.pid")
        if ledger.settings.database_url is None
        else None
    )
    step(f"run {run + 1}: the audit log reads {n:,} events into {schema}")
    pg_before = server_cpu_seconds(pg) if pg else 0.0
    wall, cpu = time.perf_counter(), time.process_time()
    read, _ = rebuild(
        ledger.bootstrap,
        ledger.admin_url,
        schema,
        ledger.topics.disclosures,
        [AuditLogConsumer(checkpointer=checkpointer_for(ledger.settings))],
        processes=1,
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    pg_cpu = (server_cpu_seconds(pg) - pg_before) if pg else float("nan")
    drop_schema(ledger.admin_url, schema)
    drop_schema(ledger.admin_url, ledger.schema)
    return {
        "rate": read / wall,
        "cpu_us": cpu / read * 1e6,
        "pg_us": pg_cpu / read * 1e6,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.vs_tessera")
    ap.add_argument("n", nargs="?", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=1024)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-tessera-") as tmp:
        work = Path(tmp)
        binary = build_tessera(work)
        entries = work / "entries.bin"
        ledger_runs, tessera_runs = [], []
        for run in range(args.runs):
            ledger_runs.append(ledger_run(args.n, run, entries))
            step(f"run {run + 1}: Tessera appends the same {args.n:,} entries")
            tessera_runs.append(tessera_run(binary, entries, args.batch, work))
            step(f"run {run + 1}: ledger {ledger_runs[-1]}, tessera {tessera_runs[-1]}")

    def med(runs: list[dict[str, float]], k: str) -> float:
        return median(r[k] for r in runs)

    def each(runs: list[dict[str, float]], k: str) -> str:
        return ", ".join(f"{r[k]:,.0f}" for r in runs)

    lr, tr = med(ledger_runs, "rate"), med(tessera_runs, "rate")
    report(
        f"verifiable log, {args.n:,} entries, median of {args.runs} run(s)",
        [
            (
                "the ledger's audit-log path (Kafka -> PostgreSQL, chained, Merkle, signed)",
                f"{lr:,.0f} entries/s (runs: {each(ledger_runs, 'rate')}); CPU per entry: "
                f"consumer {med(ledger_runs, 'cpu_us'):.0f} µs, "
                f"PostgreSQL {med(ledger_runs, 'pg_us'):.0f} µs",
            ),
            (
                f"Tessera POSIX (batches of {args.batch}, fsynced, signed checkpoint)",
                f"{tr:,.0f} entries/s (runs: {each(tessera_runs, 'rate')}); "
                f"CPU per entry {med(tessera_runs, 'cpu_us'):.0f} µs",
            ),
            ("ledger / Tessera", f"{lr / tr:.2f}x"),
        ],
    )


if __name__ == "__main__":
    main()
