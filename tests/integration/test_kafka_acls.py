"""Kafka ACLs for real: local brokers with SASL/PLAIN and the StandardAuthorizer (issue 23 item 6).

Starts its own one-node broker (the session's shared broker has no authentication), creates the
ledger's topics and ACLs as the ledger principal, then writes as each principal.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer
from kafka.errors import KafkaError

from ledger.config import Topics
from ledger.kafka.topics import ensure_topics
from ledger.localdev.kafka import LocalKafka, NodePorts
from ledger.localdev.kafka_acls import AGENCY, COURT, LEDGER, client_settings
from ledger.localdev.ports import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def acl_kafka() -> Iterator[tuple[str, Path]]:
    data_dir = Path(tempfile.mkdtemp(prefix="ledger-acls-"))
    kafka = LocalKafka(data_dir, [NodePorts(1, free_port(), free_port())], acls=True)
    try:
        kafka.start(timeout=180)
        yield kafka.bootstrap, data_dir
    finally:
        kafka.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def write(bootstrap: str, data_dir: Path, principal: str, topic: str) -> str:
    """'ok' if ``principal`` could write one record to ``topic``, else the error's name."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        max_block_ms=10_000,
        request_timeout_ms=10_000,
        **client_settings(data_dir, principal),
    )
    try:
        producer.send(topic, b"x").get(timeout=20)
        return "ok"
    except KafkaError as exc:
        return type(exc).__name__
    finally:
        producer.close(timeout=5)


def test_agency_principal_refused_on_court_and_ledger_topics(acl_kafka, monkeypatch) -> None:
    bootstrap, data_dir = acl_kafka
    monkeypatch.setenv("LEDGER_KAFKA_ACLS", "1")
    monkeypatch.setenv("LEDGER_DATA_DIR", str(data_dir))
    topics = Topics("acl.")
    ensure_topics(bootstrap, topics, partitions=1)  # as the ledger principal: topics and ACLs

    outcomes = {
        (who, topic): write(bootstrap, data_dir, who, topic)
        for who, topic in [
            (AGENCY, topics.disclosures),
            (AGENCY, topics.court),
            (AGENCY, topics.alerts),
            (AGENCY, topics.dlq),
            (COURT, topics.court),
            (COURT, topics.disclosures),
            (COURT, topics.alerts),
            (LEDGER, topics.alerts),
        ]
    }
    assert outcomes[(AGENCY, topics.disclosures)] == "ok"
    assert outcomes[(COURT, topics.court)] == "ok"
    assert outcomes[(LEDGER, topics.alerts)] == "ok"
    for refused in [
        (AGENCY, topics.court),
        (AGENCY, topics.alerts),
        (AGENCY, topics.dlq),
        (COURT, topics.disclosures),
        (COURT, topics.alerts),
    ]:
        assert "Authorization" in outcomes[refused], (refused, outcomes[refused])
