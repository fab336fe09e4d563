"""`ledger up` / `ledger down` on a data directory of their own: idempotent, and nothing left behind."""

from __future__ import annotations

import dataclasses
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
