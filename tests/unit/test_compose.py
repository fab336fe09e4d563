"""docker-compose.yml pins the same Kafka and PostgreSQL versions as the local services."""

from __future__ import annotations

import re
from pathlib import Path

from ledger.localdev.kafka import kafka_version
from ledger.localdev.postgres import POSTGRES_MAJOR

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def images() -> dict[str, str]:
    # A deliberately small reader: `image: name:tag` lines are all this test needs.
    found = re.findall(r"^\s+image:\s*([\w./-]+):([\w.-]+)\s*$", COMPOSE.read_text(), re.MULTILINE)
    return dict(found)


def test_kafka_image_matches_the_pinned_local_broker() -> None:
    assert images()["apache/kafka"] == kafka_version()


def test_postgres_image_matches_the_local_major_version() -> None:
    assert images()["postgres"].split(".")[0] == str(POSTGRES_MAJOR)


def test_kafka_service_sets_the_full_kraft_config_and_health_checks() -> None:
    text = COMPOSE.read_text()
    for key in (
        "KAFKA_PROCESS_ROLES",
        "KAFKA_CONTROLLER_QUORUM_VOTERS",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
    ):
        assert key in text
    assert text.count("healthcheck:") >= 2


def test_three_kafka_nodes_form_one_quorum_with_replicated_topics() -> None:
    import yaml

    services = yaml.safe_load(COMPOSE.read_text())["services"]
    nodes = {name: svc["environment"] for name, svc in services.items() if name.startswith("kafka")}
    assert sorted(env["KAFKA_NODE_ID"] for env in nodes.values()) == ["1", "2", "3"]
    voters = {env["KAFKA_CONTROLLER_QUORUM_VOTERS"] for env in nodes.values()}
    assert voters == {"1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"}
    assert len({env["CLUSTER_ID"] for env in nodes.values()}) == 1
    for env in nodes.values():
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
    bootstrap = services["consumers"]["environment"]["LEDGER_KAFKA_BOOTSTRAP"]
    assert bootstrap == "kafka-1:9092,kafka-2:9092,kafka-3:9092"
