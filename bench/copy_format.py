"""Text COPY against binary COPY for the audit log's entries: client and server CPU per row.

The audit log writes every event as one ``entries`` row (the Avro bytes, a JSON rendering, two
hashes). N rows built as the audit log builds them from bench disclosures are copied into a table
like ``entries`` (same columns and indexes) in turns: the text COPY the ledger used before
(the baseline) and ``ledger.store.bulk.copy_rows`` (binary). Each turn is timed for this
process's CPU and PostgreSQL's, the table emptied between turns; medians are printed.

Usage: python -m bench.copy_format [N] [--rounds R]   (default 20000 rows, 5 rounds)
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from bench.common import bench_ledger, disclosures
from bench.harness import server_cpu_seconds, step
from consumers.audit_log import render_json
from ledger.codec import EventCodec
from ledger.localdev.process import read_pid
from ledger.store import Connection, connect
from ledger.store.bulk import copy_rows
from ledger.store.entries import ENTRY_COLUMNS, ENTRY_TYPES, EntryRow

TABLE = "copy_format_entries"


def entry_rows(n: int) -> list[EntryRow]:
    codec = EventCodec()
    rows = []
    for seq, event in enumerate(disclosures(n)):
        value = codec.encode(event)
        leaf = hashlib.sha256(b"\x00" + value).digest()
        rows.append(
            EntryRow(
                log_id="bench/0",
                seq=seq,
                kafka_topic="bench",
                kafka_partition=0,
                kafka_offset=seq,
                event_id=event.event_id,
                event_type=event.event_type,
                occurred_at=event.occurred_at,
                recorded_at=datetime.now(UTC),
                value=value,
                body=render_json(event.to_record()),
                leaf_hash=leaf,
                chain_hash=hashlib.sha256(leaf).digest(),
            )
        )
    return rows


def text_copy(conn: Connection, rows: Sequence[EntryRow]) -> None:
    """The baseline: what ``copy_entries`` did before the binary COPY."""
    with conn.cursor().copy(f"COPY {TABLE} ({', '.join(ENTRY_COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row.as_tuple())


def binary_copy(conn: Connection, rows: Sequence[EntryRow]) -> None:
    copy_rows(conn, TABLE, ENTRY_COLUMNS, ENTRY_TYPES, (row.as_tuple() for row in rows))


def timed(
    conn: Connection, pg: int | None, how: Callable[[Connection, Sequence[EntryRow]], None], rows
) -> tuple[float, float]:
    """(client, server) CPU seconds of one COPY and its commit."""
    conn.execute(f"TRUNCATE {TABLE}")
    conn.commit()
    server, client = server_cpu_seconds(pg) if pg else 0.0, time.process_time()
    how(conn, rows)
    conn.commit()
    client = time.process_time() - client
    time.sleep(0.2)  # the backend's CPU counters settle
    return client, (server_cpu_seconds(pg) - server) if pg else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    ledger = bench_ledger("copy")
    step(f"building {args.n:,} entry rows")
    rows = entry_rows(args.n)
    pg = (
        read_pid(ledger.settings.data_dir / "postgres" / "data" / "postmaster.pid")
        if ledger.settings.database_url is None
        else None
    )
    results: dict[str, list[tuple[float, float]]] = {"text": [], "binary": []}
    with connect(ledger.admin_url, ledger.schema) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute(f"CREATE TABLE {TABLE} (LIKE entries INCLUDING ALL)")
        conn.commit()
        for r in range(args.rounds):
            step(f"round {r + 1} of {args.rounds}")
            for name, how in (("text", text_copy), ("binary", binary_copy)):
                results[name].append(timed(conn, pg, how, rows))
        conn.execute(f"DROP TABLE {TABLE}")
        conn.commit()
    print(f"\n== COPY of {args.n:,} entries rows, medians of {args.rounds} rounds ==")
    print(f"  {'':8} {'client µs/row':>14} {'PostgreSQL µs/row':>18}")
    med = {}
    for name, runs in results.items():
        client = statistics.median(c for c, _ in runs) / args.n * 1e6
        server = statistics.median(s for _, s in runs) / args.n * 1e6
        med[name] = (client, server)
        print(f"  {name:8} {client:14.1f} {server:18.1f}")
    (tc, ts), (bc, bs) = med["text"], med["binary"]
    print(f"  binary / text: client {bc / tc:.2f}x, PostgreSQL {bs / max(ts, 1e-9):.2f}x")


if __name__ == "__main__":
    main()
