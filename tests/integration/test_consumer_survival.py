"""Consumers that survive their surroundings: a lost broker, a shared log, a stop request.

These tests start a Kafka of their own (one node, in a temporary data directory) so they can
kill it without disturbing the session's services; PostgreSQL is the session's.
"""

from __future__ import annotations

import dataclasses
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from consumers.service import CONSUMER_NAMES
from ledger import localdev
from ledger.config import Settings, Topics
from ledger.runtime import Ledger, open_ledger
from tests.integration.helpers import caught_up, cli_env, disclosure, emit, rows, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

D = date(2025, 8, 7)


@pytest.fixture
def own_kafka(ledger_services, ledger_settings) -> Iterator[tuple[Settings, Ledger]]:
    data_dir = Path(tempfile.mkdtemp(prefix="ledger-own-kafka-"))
    local = dataclasses.replace(
        Settings.from_env({"LEDGER_DATA_DIR": str(data_dir)}),
        database_url=ledger_services.database_url,
    )
    try:
        endpoints = localdev.up(local)
        tag = f"survive_{int(time.time() * 1000) % 10**8}"
        settings = dataclasses.replace(
            ledger_settings,
            kafka_bootstrap=endpoints.kafka_bootstrap,
            topics=Topics(f"t.{tag}."),
            db_schema=f"t_{tag}",
        )
        yield local, open_ledger(settings)
    finally:
        localdev.down(local)
        shutil.rmtree(data_dir, ignore_errors=True)


def consume(ledger: Ledger, *only: str) -> subprocess.Popen:
    args = [a for name in only for a in ("--only", name)]
    return subprocess.Popen(
        [shutil.which("ledger") or "ledger", "consume", *args],
        env=cli_env(ledger),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_sigterm_stops_consume_within_10_s_when_the_broker_is_gone(own_kafka) -> None:
    local, ledger = own_kafka
    proc = consume(ledger)
    try:
        emit(ledger, [disclosure(D, 1, "Before the broker goes")])
        caught_up(ledger)
        broker = localdev.status(local)["kafka_brokers"][0]["pid"]
        subprocess.run(["kill", "-9", str(broker)], check=True)
        time.sleep(3)  # the consumers notice: polls fail, producers cannot connect
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        assert time.monotonic() - started <= 10, "ledger consume took longer than 10 s to stop"
    finally:
        if proc.poll() is None:
            proc.kill()


def assert_one_gapless_chain_per_log(ledger: Ledger, entries: int) -> None:
    """Every log holds seq 0..n-1, one entry per Kafka offset, and `ledger verify` exits 0."""
    logs = rows(
        ledger,
        "SELECT log_id, count(*), min(seq), max(seq), count(DISTINCT kafka_offset) FROM entries"
        " GROUP BY log_id ORDER BY log_id",
    )
    assert sum(n for _, n, _, _, _ in logs) == entries
    for log_id, n, lo, hi, offsets in logs:
        assert (lo, hi, offsets) == (0, n - 1, n), log_id  # gapless, one entry per offset
    verify = subprocess.run(
        [shutil.which("ledger") or "ledger", "verify"],
        env=cli_env(ledger),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_two_audit_log_processes_share_partitions_and_keep_one_gapless_chain(own_kafka) -> None:
    _, ledger = own_kafka
    first = consume(ledger, "audit_log")
    second = consume(ledger, "audit_log")
    try:
        for batch in range(6):
            emit(ledger, [disclosure(D, 1, f"Shared {batch} {i}") for i in range(300)])
            if batch == 3:
                first.send_signal(signal.SIGKILL)  # its partitions move to the other process
                first.wait(10)
        caught_up(ledger, ("audit_log",), timeout=120)
    finally:
        for p in (first, second):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(30)
    assert_one_gapless_chain_per_log(ledger, 1800)


def test_a_paused_consumer_resumes_without_forking_or_duplicating(own_kafka) -> None:
    _, ledger = own_kafka
    paused = consume(ledger, "audit_log")
    other = consume(ledger, "audit_log")
    try:
        emit(ledger, [disclosure(D, 1, f"Before the pause {i}") for i in range(300)])
        caught_up(ledger, ("audit_log",), timeout=120)
        paused.send_signal(signal.SIGSTOP)  # past the session timeout: its partitions move
        emit(ledger, [disclosure(D, 1, f"While paused {i}") for i in range(300)])
        caught_up(ledger, ("audit_log",), timeout=120)  # the other process took them over
        paused.send_signal(signal.SIGCONT)  # it wakes with a stale assignment and stale caches
        emit(ledger, [disclosure(D, 1, f"After the pause {i}") for i in range(300)])
        caught_up(ledger, ("audit_log",), timeout=120)
    finally:
        for p in (paused, other):
            p.send_signal(signal.SIGCONT)
            p.send_signal(signal.SIGTERM)
            p.wait(30)
    assert_one_gapless_chain_per_log(ledger, 900)


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == parent and stat[0] != "Z":
                found.append(int(entry.name))
    return found


def test_consume_runs_one_process_per_consumer_and_restarts_a_killed_one(own_kafka) -> None:
    _, ledger = own_kafka
    proc = consume(ledger)
    try:
        n = len(CONSUMER_NAMES)  # one child per consumer, the taxpayer index's loop included
        children = wait_until(lambda: len(_children(proc.pid)) == n and _children(proc.pid), 60)
        emit(ledger, [disclosure(D, 1, "Before the child is killed")])
        caught_up(ledger)
        victim = children[0]
        subprocess.run(["kill", "-9", str(victim)], check=True)
        wait_until(lambda: len(_children(proc.pid)) == n and victim not in _children(proc.pid), 60)
        (after,) = emit(ledger, [disclosure(D, 1, "After the child is killed")])
        caught_up(ledger)
        assert rows(ledger, "SELECT 1 FROM entries WHERE event_id = %s::uuid", (after.event_id,))
        assert proc.poll() is None
        survivors = _children(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert all(not Path(f"/proc/{pid}").exists() for pid in survivors), "a child outlived consume"


def _instance_ids(ledger: Ledger, consumer: str) -> list[str]:
    from kafka.admin import KafkaAdminClient

    group = f"{ledger.topics.prefix}ledger-{consumer}"
    admin = KafkaAdminClient(bootstrap_servers=ledger.bootstrap)
    try:
        described = admin.describe_groups([group])
    finally:
        admin.close()
    info = described[group] if isinstance(described, dict) else described[0]
    members = info["members"] if isinstance(info, dict) else info.members
    return sorted(
        (m["group_instance_id"] if isinstance(m, dict) else m.group_instance_id) or ""
        for m in members
    )


def test_a_killed_consumer_rejoins_as_the_same_static_member(own_kafka) -> None:
    """Static membership: the restarted process claims the dead one's slot, so the broker hands
    it the same partitions at once instead of waiting out the session timeout."""
    _, ledger = own_kafka
    first = consume(ledger, "audit_log")
    second = None
    try:
        emit(ledger, [disclosure(D, 1, f"Static {i}") for i in range(50)])
        caught_up(ledger, ("audit_log",), timeout=120)
        before = wait_until(lambda: _instance_ids(ledger, "audit_log"), 30, "a group member")
        assert len(before) == 1, before  # one member...
        assert before[0], before  # ...with an instance id
        first.kill()
        first.wait(10)
        second = consume(ledger, "audit_log")
        started = time.monotonic()
        emit(ledger, [disclosure(D, 1, f"Static after {i}") for i in range(50)])
        caught_up(ledger, ("audit_log",), timeout=120)
        print(f"caught up {time.monotonic() - started:.1f} s after the restart")
        assert _instance_ids(ledger, "audit_log") == before
    finally:
        for p in (first, second):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(30)
    assert_one_gapless_chain_per_log(ledger, 100)
