"""`ledger up` / `ledger down` on a data directory of their own: idempotent, and nothing left behind."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest
from kafka.admin import KafkaAdminClient

from ledger import localdev
from ledger.config import Settings
from ledger.localdev.process import processes_mentioning

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_up_twice_is_harmless_and_down_leaves_no_process() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="ledger-updown-"))
    data_dir.chmod(0o755)
    settings = dataclasses.replace(
        Settings.from_env({"LEDGER_DATA_DIR": str(data_dir)}),
        kafka_bootstrap=None,
        database_url=None,
    )
    try:
        first = localdev.up(settings)
        second = localdev.up(settings)
        assert first == second
        admin = KafkaAdminClient(bootstrap_servers=second.kafka_bootstrap)
        try:
            assert isinstance(admin.list_topics(), list)
        finally:
            admin.close()
        with psycopg.connect(second.database_url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        state = localdev.status(settings)
        assert state["kafka_running"]
        assert state["postgres_running"]
        assert processes_mentioning(str(data_dir.resolve()))
    finally:
        localdev.down(settings)
        leftover = processes_mentioning(str(data_dir.resolve()))
        shutil.rmtree(data_dir, ignore_errors=True)
    assert leftover == []
    localdev.down(settings)  # harmless when nothing runs


def test_status_reports_configured_endpoints_without_starting_anything(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "LEDGER_KAFKA_BOOTSTRAP": "kafka.example:9092",
            "LEDGER_DATABASE_URL": "postgresql://x@db/ledger",
            "LEDGER_DATA_DIR": str(tmp_path),
        }
    )
    assert localdev.up(settings) == localdev.Endpoints(
        "kafka.example:9092", "postgresql://x@db/ledger"
    )
    state = localdev.status(settings)
    assert state["kafka_bootstrap"] == "kafka.example:9092"
    assert state["database_url"] == "postgresql://x@db/ledger"
    assert not (tmp_path / "localdev.json").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="the `postgres` user only matters when run as root")
def test_up_from_a_directory_postgres_cannot_enter() -> None:
    """`ledger up` as root from a `mktemp -d` (mode 0700): initdb, run as `postgres`, cannot
    enter it, so the cluster is kept where that user can reach it, and the directory stays 0700."""
    data_dir = Path(tempfile.mkdtemp(prefix="ledger-private-"))
    assert data_dir.stat().st_mode & 0o777 == 0o700
    settings = dataclasses.replace(
        Settings.from_env({"LEDGER_DATA_DIR": str(data_dir / ".ledger")}),
        kafka_bootstrap="127.0.0.1:1",  # configured, so only PostgreSQL is started
        database_url=None,
    )
    pointer = data_dir / ".ledger" / "postgres-home"
    moved: list[Path] = []
    try:
        for _ in range(2):  # the second time after `ledger down` and `rm -rf .ledger`
            endpoints = localdev.up(settings)
            moved.append(Path(pointer.read_text().strip()))
            with psycopg.connect(endpoints.database_url) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
            assert localdev.status(settings)["postgres_running"]
            assert data_dir.stat().st_mode & 0o777 == 0o700
            assert localdev.up(settings) == endpoints  # found again where it was put
            localdev.down(settings)
            assert not localdev.status(settings)["postgres_running"]
            shutil.rmtree(data_dir / ".ledger")
        assert moved[0] != moved[1]  # a new cluster, not the forgotten one's files
    finally:
        localdev.down(settings)
        if pointer.exists():
            moved.append(Path(pointer.read_text().strip()))
        shutil.rmtree(data_dir, ignore_errors=True)
        for path in moved:
            shutil.rmtree(path, ignore_errors=True)
