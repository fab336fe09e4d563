"""Shared set-up for benchmarks: a ledger on the local (or configured) services, fresh topics."""

from __future__ import annotations

import dataclasses
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ledger import localdev
from ledger.config import Settings, Topics
from ledger.events import DisclosureRecorded
from ledger.runtime import Ledger, open_ledger

# The synthetic recipients as registry agencies (children of one BENCH agency), for this process
# and every `ledger` process it starts; a registry given by the caller wins.
REGISTRY = Path(__file__).resolve().parent / "registry.toml"


def bench_ledger(name: str, partitions: int = 3) -> Ledger:
    """Starts local services if needed; isolates the run with its own topics and schema."""
    os.environ.setdefault("LEDGER_REGISTRY_FILE", str(REGISTRY))
    base = Settings.from_env()
    localdev.up(base)
    tag = f"{name}_{int(time.time())}"
    settings = dataclasses.replace(
        base, topics=Topics(f"bench.{tag}."), db_schema=f"bench_{tag}", partitions=partitions
    )
    return open_ledger(settings)


def disclosures(
    n: int, recipients: int = 12, start: datetime | None = None
) -> list[DisclosureRecorded]:
    """``n`` DisclosureRecorded events spread over days and recipients (already validated shape)."""
    start = start or datetime(2024, 1, 1, 15, tzinfo=UTC)
    batch = uuid.uuid4().hex[
        :8
    ]  # disclosure ids unique across calls: a repeated one is a duplicate
    out = []
    for i in range(n):
        at = start + timedelta(minutes=7 * i)
        out.append(
            DisclosureRecorded(
                event_id=str(uuid.uuid4()),
                occurred_at=at,
                recorded_by="bench",
                disclosure_id=f"B-{batch}-{i}",
                source_agency="Internal Revenue Service",
                recipient_agency=f"Recipient {i % recipients}",
                legal_authority="26 U.S.C. 6103(i)(2)" if i % 2 else "26 U.S.C. 6103(d)",
                purpose="benchmark",
                nature="RETURN_INFORMATION",
                transmitted_at=at,
                transmission_channel="SFTP",
                record_count=1 + i % 50,
                tax_periods=("2023",),
                data_categories=("return_information",),
                match_method="NAME_DOB_ADDRESS",
                address_verification="VALID",
            )
        )
    return out


def ledger_env(ledger: Ledger) -> dict[str, str]:
    """Environment that points a `ledger` subprocess at this benchmark's ledger."""
    return {**os.environ, **ledger.environment()}


def consumer_processes(ledger: Ledger, names: list[str], log_dir: Path | None = None) -> list:
    """One `ledger consume --only NAME` process per consumer, as a deployment would run them.

    With ``log_dir``, each process's output goes to ``<log_dir>/consume-<NAME>.log`` (appended).
    """
    import subprocess
    import sys

    procs = []
    for name in names:
        out = open(log_dir / f"consume-{name}.log", "ab") if log_dir else subprocess.DEVNULL  # noqa: SIM115
        try:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "ledger", "consume", "--only", name],
                    env=ledger_env(ledger),
                    stdout=out,
                    stderr=subprocess.STDOUT if log_dir else subprocess.DEVNULL,
                )
            )
        finally:
            if log_dir:
                out.close()  # the child holds its own descriptor
    return procs


def stop_processes(procs: list) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(60)


def report(title: str, rows: list[tuple[str, str]]) -> None:
    print(f"\n== {title} ==")
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"  {key.ljust(width)}  {value}")
