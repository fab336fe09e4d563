"""Local services for machines without Docker: `ledger up` / `ledger down` / `ledger status`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.config import Settings
from ledger.errors import ServiceError
from ledger.localdev.kafka import LocalKafka, NodePorts
from ledger.localdev.ports import free_port
from ledger.localdev.postgres import LocalPostgres
from ledger.localdev.process import processes_mentioning, stop_pid


@dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap: str
    database_url: str


def _state_file(data_dir: Path) -> Path:
    return data_dir / "services.json"


def _ports(data_dir: Path, brokers: int) -> dict[str, int]:
    """Ports (and the broker count) chosen on first start and kept, so a restart finds the same
    endpoints. Node 1 keeps the keys a one-broker data directory has always had."""
    path = _state_file(data_dir)
    if path.exists():
        ports = dict(json.loads(path.read_text()))
        ports.setdefault("brokers", 1)
        return ports
    ports = {"kafka_broker": free_port(), "kafka_controller": free_port(), "postgres": free_port()}
    for node in range(2, brokers + 1):
        ports[f"kafka_broker_{node}"] = free_port()
        ports[f"kafka_controller_{node}"] = free_port()
    ports["brokers"] = brokers
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(ports))
    return ports


def _nodes(ports: dict[str, int]) -> list[NodePorts]:
    nodes = [NodePorts(1, ports["kafka_broker"], ports["kafka_controller"])]
    for node in range(2, ports["brokers"] + 1):
        nodes.append(
            NodePorts(node, ports[f"kafka_broker_{node}"], ports[f"kafka_controller_{node}"])
        )
    return nodes


def _local(
    data_dir: Path, brokers: int = 1, acls: bool = False
) -> tuple[LocalKafka, LocalPostgres]:
    ports = _ports(data_dir, brokers)
    if ports["brokers"] != brokers and brokers != 1:
        raise ServiceError(
            f"{data_dir} holds a {ports['brokers']}-broker Kafka, not {brokers}; run `ledger down` "
            "and remove that directory (it forgets the local data) or use another LEDGER_DATA_DIR."
        )
    return LocalKafka(data_dir, _nodes(ports), acls), LocalPostgres(data_dir, ports["postgres"])


def up(settings: Settings) -> Endpoints:
    """Starts whatever is not configured by the environment; harmless when already running."""
    bootstrap = settings.kafka_bootstrap
    database = settings.database_url
    if bootstrap is not None and database is not None:
        return Endpoints(bootstrap, database)  # configured: nothing is started
    kafka, pg = _local(settings.data_dir.resolve(), settings.brokers, settings.kafka_acls)
    if bootstrap is None:
        kafka.start()
        bootstrap = kafka.bootstrap
    if database is None:
        pg.start()
        database = pg.url
    return Endpoints(bootstrap, database)


def down(settings: Settings) -> None:
    """Stops the local services of this data directory and anything else still mentioning it."""
    data_dir = settings.data_dir.resolve()
    if not _state_file(data_dir).exists():
        return
    kafka, pg = _local(data_dir)
    kafka.stop()
    pg.stop()
    for pid in processes_mentioning(str(data_dir)):
        stop_pid(pid, timeout=10)


def status(settings: Settings) -> dict[str, Any]:
    data_dir = settings.data_dir.resolve()
    managed = _state_file(data_dir).exists()
    kafka, pg = _local(data_dir) if managed else (None, None)
    kafka_running = bool(kafka and kafka.running())
    pg_running = bool(pg and pg.running())
    brokers = [
        {
            "node_id": n.ports.node_id,
            "pid": n.pid() if n.running() else None,
            "port": n.ports.broker,
            "running": n.running(),
        }
        for n in (kafka.nodes if kafka and settings.kafka_bootstrap is None else [])
    ]
    return {
        "kafka_bootstrap": settings.kafka_bootstrap or (kafka.bootstrap if kafka else None),
        "kafka_brokers": brokers,
        "database_url": settings.database_url or (pg.url if pg and pg_running else None),
        "kafka_managed": settings.kafka_bootstrap is None,
        "postgres_managed": settings.database_url is None,
        "kafka_running": kafka_running if settings.kafka_bootstrap is None else None,
        "postgres_running": pg_running if settings.database_url is None else None,
        "data_dir": str(data_dir),
    }


def local_services(settings: Settings) -> tuple[LocalKafka, LocalPostgres]:
    """The local Kafka and PostgreSQL of the settings' data directory (for fault injection)."""
    data_dir = settings.data_dir.resolve()
    if not _state_file(data_dir).exists():
        raise ServiceError(f"No local services in {data_dir}; run `ledger up` first.")
    return _local(data_dir, settings.brokers)
