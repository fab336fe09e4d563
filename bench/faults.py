"""Faults that lose nothing: stream disclosures through a three-broker cluster, break things, count.

For each fault in turn, a chunk of disclosures is streamed while the fault is injected; then the
harness waits for the consumers to catch up and checks: every produced event is an entry (by
event id) exactly once, `ledger verify` exits 0, the source's daily volume equals the produced
record count, alerts are stored once each, and `ledger replay` equals live. One table row per fault.

Usage: python -m bench.faults [N]   (N disclosures in all, default 120000; about 10 minutes)
The test suite runs a short version (tests/integration/test_faults.py).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kafka.admin import KafkaAdminClient

import ledger as ledger_package
from bench.common import disclosures
from ledger import localdev
from ledger.config import Settings, Topics
from ledger.events import DisclosureRecorded
from ledger.kafka.client import client_config
from ledger.kafka.offsets import log_end_offsets
from ledger.kafka.producer import EventProducer
from ledger.ops.rebuild import wait_for_live
from ledger.runtime import Ledger, open_ledger
from ledger.store.connection import connection

CHECKOUT = Path(ledger_package.__file__).resolve().parent.parent
SESSION_TIMEOUT_S = 10  # kafka-python's default session.timeout.ms


@dataclass
class FaultRow:
    fault: str
    events: int
    lost: int
    duplicated: int
    recover_s: float
    verify: int
    replay: int
    note: str = ""


@dataclass
class Harness:
    """A ledger on its own three-broker cluster and PostgreSQL, with consumers as processes."""

    data_dir: Path
    ledger: Ledger
    settings: Settings
    consumers: dict[str, list[subprocess.Popen[bytes]]] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)  # event id -> record count
    log: Path | None = None

    @classmethod
    def start(cls, brokers: int = 3) -> Harness:
        data_dir = Path(tempfile.mkdtemp(prefix="ledger-faults-"))
        data_dir.chmod(0o755)  # the postgres user must reach its data directory
        settings = Settings.from_env(
            {"LEDGER_DATA_DIR": str(data_dir), "LEDGER_BROKERS": str(brokers)}
        )
        endpoints = localdev.up(settings)
        live = dataclasses.replace(
            settings,
            kafka_bootstrap=endpoints.kafka_bootstrap,
            database_url=endpoints.database_url,
            topics=Topics("faults."),
            db_schema="faults",
        )
        harness = cls(data_dir, open_ledger(live), settings, log=data_dir / "consumers.log")
        # Two audit-log processes share the partitions (a killed or paused one hands them over).
        harness.consumers = {
            "audit_log": [harness.spawn("audit_log"), harness.spawn("audit_log")],
            "volume": [harness.spawn("volume")],
        }
        return harness

    def env(self) -> dict[str, str]:
        path = os.pathsep.join(p for p in (str(CHECKOUT), os.environ.get("PYTHONPATH")) if p)
        return {**os.environ, "PYTHONPATH": path, **self.ledger.environment()}

    def local_env(self) -> dict[str, str]:
        """As an operator's shell after `ledger up --brokers 3`: Kafka found from the data directory."""
        env = {**self.env(), "LEDGER_BROKERS": str(len(self.ledger.bootstrap.split(",")))}
        env.pop("LEDGER_KAFKA_BOOTSTRAP", None)
        return env

    def spawn(self, name: str) -> subprocess.Popen[bytes]:
        assert self.log is not None
        with self.log.open("ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "ledger", "consume", "--only", name],
                env=self.local_env(),
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def cli(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ledger", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def stop(self) -> None:
        for procs in self.consumers.values():
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGCONT)
                    p.terminate()
        for procs in self.consumers.values():
            for p in procs:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
        localdev.down(self.settings)
        shutil.rmtree(self.data_dir, ignore_errors=True)

    # --- streaming -------------------------------------------------------------------------

    def stream(self, events: list[DisclosureRecorded], producer: EventProducer) -> None:
        for i in range(0, len(events), 1000):
            chunk = events[i : i + 1000]
            producer.send(chunk)  # acks=all, idempotent: returns once every event is acknowledged
            for e in chunk:
                self.sent[e.event_id] = e.record_count

    def caught_up(self, timeout: float = 600) -> float:
        started = time.monotonic()
        ends = log_end_offsets(self.ledger.bootstrap, self.ledger.topics.disclosures)
        if not wait_for_live(
            self.ledger.admin_url, self.ledger.schema, ["audit_log", "volume"], ends, timeout
        ):
            raise RuntimeError(f"consumers did not catch up within {timeout:.0f} s")
        return time.monotonic() - started

    # --- checks ----------------------------------------------------------------------------

    def check(self, fault: str, recover_s: float, note: str = "") -> FaultRow:
        with connection(self.ledger.admin_url, self.ledger.schema) as conn:
            stored = {r[0] for r in conn.execute("SELECT event_id::text FROM entries")}
            (offsets_dup,) = conn.execute(
                "SELECT count(*) - count(DISTINCT (log_id, kafka_offset)) FROM entries"
            ).fetchone() or (0,)
            (records,) = conn.execute(
                "SELECT coalesce(sum(records), 0) FROM daily_volume WHERE scope_kind = 'source'"
            ).fetchone() or (0,)
            (alert_dups,) = conn.execute(
                "SELECT count(*) - count(DISTINCT alert_id) FROM alerts"
            ).fetchone() or (0,)
        lost = len(set(self.sent) - stored)
        expected_records = sum(self.sent.values())
        if int(records) != expected_records:
            note += f" volume {records} != produced {expected_records};"
        verify = self.cli("verify").returncode
        replay = self.cli("replay").returncode
        return FaultRow(
            fault,
            len(self.sent),
            lost,
            int(offsets_dup) + int(alert_dups),
            recover_s,
            verify,
            replay,
            note.strip(),
        )


# --- the faults: each runs while a chunk streams, and returns a note -----------------------


def _leader_of_partition_0(h: Harness) -> int:
    admin = KafkaAdminClient(**client_config(h.ledger.bootstrap))
    try:
        (topic,) = admin.describe_topics([h.ledger.topics.disclosures])
        for p in topic["partitions"]:
            if p.get("partition_index", p.get("partition")) == 0:
                return int(p.get("leader_id", p.get("leader", -1)))
        raise RuntimeError("partition 0 has no leader")
    finally:
        admin.close()


def kill_leader_broker(h: Harness) -> str:
    node_id = _leader_of_partition_0(h)
    kafka, _ = localdev.local_services(h.settings)
    node = next(n for n in kafka.nodes if n.ports.node_id == node_id)
    os.kill(node.pid() or 0, signal.SIGKILL)
    time.sleep(10)
    kafka.start()  # the killed node rejoins
    return f"killed broker {node_id} (leader of partition 0), restarted after 10 s"


def _kill_consumer(h: Harness, name: str) -> str:
    proc = h.consumers[name][0]
    proc.kill()
    proc.wait(30)
    time.sleep(2)
    h.consumers[name][0] = h.spawn(name)
    return f"SIGKILL of one {name} consumer mid-stream, restarted"


def kill_audit_log_consumer(h: Harness) -> str:
    return _kill_consumer(h, "audit_log")


def kill_volume_consumer(h: Harness) -> str:
    return _kill_consumer(h, "volume")


def restart_postgres(h: Harness) -> str:
    _, pg = localdev.local_services(h.settings)
    pg.restart_immediately()
    return "pg_ctl restart -m immediate"


def no_broker_for_20_s(h: Harness) -> str:
    """Every broker frozen for 20 s while `ledger emit` runs: it waits and sends, or sends nothing."""
    kafka, _ = localdev.local_services(h.settings)
    pids = [n.pid() or 0 for n in kafka.nodes]
    file = h.data_dir / "during-outage.jsonl"
    extra = disclosures(200, start=datetime(2025, 6, 1, 15, tzinfo=UTC))
    file.write_text("\n".join(json.dumps(_line(e)) for e in extra))
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        emitting = subprocess.Popen(
            [sys.executable, "-m", "ledger", "emit", "--file", str(file), "--json"],
            env=h.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(20)
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    out, err = emitting.communicate(timeout=300)
    if emitting.returncode == 0:
        for sent in json.loads(out):
            h.sent[sent["event_id"]] = next(
                e.record_count for e in extra if e.event_id == sent["event_id"]
            )
        return "all brokers frozen 20 s; `ledger emit` waited and sent all 200"
    with connection(h.ledger.admin_url, h.ledger.schema) as conn:
        ids = [e.event_id for e in extra]
        (landed,) = conn.execute(
            "SELECT count(*) FROM entries WHERE event_id = ANY(%s::uuid[])", (ids,)
        ).fetchone() or (0,)
    first = (err.strip().splitlines() or ["?"])[-1]
    return f"all brokers frozen 20 s; `ledger emit` failed loudly ({first}); landed {landed}"


def pause_consumer(h: Harness) -> str:
    proc = h.consumers["audit_log"][1]
    proc.send_signal(signal.SIGSTOP)
    time.sleep(SESSION_TIMEOUT_S + 5)  # its partitions move to the other audit-log process
    proc.send_signal(signal.SIGCONT)
    return f"SIGSTOP of an audit-log consumer for {SESSION_TIMEOUT_S + 5} s, then SIGCONT"


def broker_1_down_consumers_restarted(h: Harness) -> str:
    """Node 1 (first in every bootstrap list) down while every consumer process restarts.

    Any broker of the list is enough: `ledger status` still reports Kafka running and the
    restarted consumers (static members, same instance ids) catch up on the other two.
    """
    kafka, _ = localdev.local_services(h.settings)
    node = kafka.nodes[0]
    os.kill(node.pid() or 0, signal.SIGKILL)
    time.sleep(2)
    for name, procs in h.consumers.items():
        for i, proc in enumerate(procs):
            proc.kill()
            proc.wait(30)
            procs[i] = h.spawn(name)
    status = subprocess.run(
        [sys.executable, "-m", "ledger", "status", "--json"],
        env=h.local_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    running = json.loads(status.stdout).get("kafka_running") if status.returncode == 0 else None
    started = time.monotonic()
    h.caught_up()
    down_s = time.monotonic() - started
    exited = [n for n, procs in h.consumers.items() for p in procs if p.poll() is not None]
    kafka.start()  # node 1 rejoins
    return (
        f"node 1 SIGKILLed, every consumer restarted; status kafka_running={running}; "
        f"caught up {down_s:.1f} s with node 1 down; consumers exited: {exited or 'none'}"
    )


def _line(event: DisclosureRecorded) -> dict[str, Any]:
    out: dict[str, Any] = {"type": event.event_type}
    for k, v in event.to_record().items():
        if v is None:
            continue
        out[k] = v.isoformat() if isinstance(v, datetime) else v
    return out


FAULTS: list[tuple[str, Callable[[Harness], str]]] = [
    ("leader broker SIGKILL", kill_leader_broker),
    ("audit-log consumer SIGKILL", kill_audit_log_consumer),
    ("volume consumer SIGKILL", kill_volume_consumer),
    ("PostgreSQL restart", restart_postgres),
    ("no broker for 20 s", no_broker_for_20_s),
    ("consumer paused past session", pause_consumer),
    ("broker 1 down, consumers restarted", broker_1_down_consumers_restarted),
]


def run(n: int, faults: list[tuple[str, Callable[[Harness], str]]] = FAULTS) -> list[FaultRow]:
    harness = Harness.start()
    rows: list[FaultRow] = []
    chunk = max(1, n // len(faults))
    start = datetime(2024, 1, 1, 15, tzinfo=UTC)
    try:
        with EventProducer(harness.ledger.bootstrap, harness.ledger.topics.disclosures) as prod:
            for i, (name, inject) in enumerate(faults):
                events = disclosures(chunk, start=start + timedelta(days=60 * i))
                streamer = threading.Thread(target=harness.stream, args=(events, prod))
                streamer.start()
                time.sleep(1.0)  # the fault lands mid-stream
                injected = time.monotonic()
                note = inject(harness)
                streamer.join()
                harness.caught_up()
                recover = time.monotonic() - injected
                rows.append(harness.check(name, recover, note))
                print_row(rows[-1])
    finally:
        harness.stop()
    return rows


HEADER = f"{'fault':<36} {'events':>8} {'lost':>5} {'dup':>4} {'recover s':>10} {'verify':>7} {'replay':>7}"


def print_row(row: FaultRow) -> None:
    print(
        f"{row.fault:<36} {row.events:>8} {row.lost:>5} {row.duplicated:>4} "
        f"{row.recover_s:>10.1f} {row.verify:>7} {row.replay:>7}  {row.note}",
        flush=True,
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 120_000
    print(HEADER, flush=True)
    rows = run(n)
    bad = [r for r in rows if r.lost or r.duplicated or r.verify or r.replay]
    print(f"\n{len(rows)} faults, {len(bad)} with a loss, a duplicate or a failed check.")
    raise SystemExit(1 if bad else 0)


if __name__ == "__main__":
    main()
