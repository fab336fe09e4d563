"""The one fixture layer for integration tests: real Kafka and PostgreSQL, started once per session.

With LEDGER_KAFKA_BOOTSTRAP and LEDGER_DATABASE_URL set, those are used. With a Docker engine
reachable, testcontainers start the official apache/kafka and postgres images. Otherwise the
project's own local services start in a session data directory and are stopped at the end. A
missing service is a failure, never a skip.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger import localdev
from ledger.config import Settings
from ledger.localdev.kafka import kafka_version
from ledger.localdev.postgres import POSTGRES_MAJOR


def _docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return (
            subprocess.run(
                ["docker", "info"], capture_output=True, timeout=5, check=False
            ).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def _testcontainers(stack: list) -> localdev.Endpoints:  # pragma: no cover - needs a Docker engine
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs
    from testcontainers.postgres import PostgresContainer

    # The official apache/kafka image: any KAFKA_* variable replaces its whole default config.
    kafka = (
        DockerContainer(f"apache/kafka:{kafka_version()}")
        .with_bind_ports(9092, 9092)
        .with_env("KAFKA_NODE_ID", "1")
        .with_env("KAFKA_PROCESS_ROLES", "broker,controller")
        .with_env("KAFKA_LISTENERS", "PLAINTEXT://:9092,CONTROLLER://:9093")
        .with_env("KAFKA_ADVERTISED_LISTENERS", "PLAINTEXT://localhost:9092")
        .with_env("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
        .with_env(
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
        )
        .with_env("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093")
        .with_env("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
        .with_env("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR", "1")
        .with_env("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
        .with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
    )
    kafka.start()
    stack.append(kafka)
    wait_for_logs(kafka, "Kafka Server started", timeout=120)
    pg = PostgresContainer(f"postgres:{POSTGRES_MAJOR}", driver=None)
    pg.start()
    stack.append(pg)
    return localdev.Endpoints("localhost:9092", pg.get_connection_url())


# Data directories of services this session started, so tests can read the servers' own logs.
LOCAL_SERVICE_DIRS: list[Path] = []


def service_log_files() -> list[Path]:
    return [f for d in LOCAL_SERVICE_DIRS for f in d.rglob("*.log") if f.is_file()]


@pytest.fixture(scope="session")
def ledger_services() -> Iterator[localdev.Endpoints]:
    env_kafka, env_db = (
        os.environ.get("LEDGER_KAFKA_BOOTSTRAP"),
        os.environ.get("LEDGER_DATABASE_URL"),
    )
    if env_kafka and env_db:
        yield localdev.Endpoints(env_kafka, env_db)
        return
    if _docker_available():  # pragma: no cover - no Docker engine on our machines
        stack: list = []
        try:
            yield _testcontainers(stack)
        finally:
            for container in reversed(stack):
                container.stop()
        return
    # /tmp, not pytest's tmp_path: the postgres user must be able to reach the data directory.
    data_dir = Path(tempfile.mkdtemp(prefix="ledger-test-"))
    data_dir.chmod(0o755)
    LOCAL_SERVICE_DIRS.append(data_dir)
    settings = dataclasses.replace(
        Settings.from_env({"LEDGER_DATA_DIR": str(data_dir)}),
        kafka_bootstrap=None,
        database_url=None,
    )
    try:
        yield localdev.up(settings)
    finally:
        localdev.down(settings)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def ledger_settings(
    ledger_services: localdev.Endpoints, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """Settings pointing at the session's services; secrets generated into a session directory."""
    secrets_dir = tmp_path_factory.mktemp("ledger-secrets")
    return Settings.from_env(
        {
            "LEDGER_KAFKA_BOOTSTRAP": ledger_services.kafka_bootstrap,
            "LEDGER_DATABASE_URL": ledger_services.database_url,
            "LEDGER_DATA_DIR": str(secrets_dir),
            "LEDGER_PARTITIONS": "3",
        }
    )
