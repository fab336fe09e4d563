"""Creates the ledger's topics: infinite retention, no compaction, a configurable partition count."""

from __future__ import annotations

import time

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from ledger.config import Topics
from ledger.errors import ServiceError
from ledger.kafka.client import client_config

# The log is the source of truth: nothing may ever expire or be compacted away. The broker stamps
# each record with its append time, so timestamps never go backwards within a partition and one
# order across partitions can be derived from the log itself (consumers/runner.AppendTimeMerge).
TOPIC_CONFIG = {
    "retention.ms": "-1",
    "retention.bytes": "-1",
    "cleanup.policy": "delete",
    "message.timestamp.type": "LogAppendTime",
}


def ensure_topics(
    bootstrap: str, topics: Topics, partitions: int = 3, replication_factor: int = 1
) -> list[str]:
    """Creates any missing ledger topic; returns the names it created (existing ones are kept)."""
    try:
        admin = KafkaAdminClient(**client_config(bootstrap), client_id="ledger-admin")
    except KafkaError as exc:
        raise ServiceError(f"Cannot reach Kafka at {bootstrap}: {exc}") from exc
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(name, partitions, replication_factor, topic_configs=dict(TOPIC_CONFIG))
            for name in topics.all()
            if name not in existing
        ]
        created = []
        for topic in wanted:
            try:
                admin.create_topics([topic])
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass  # another process created it between list and create
        wait_until_visible(admin, list(topics.all()))
        return created
    finally:
        admin.close()


def wait_until_visible(admin: KafkaAdminClient, names: list[str], timeout: float = 30) -> None:
    """Waits until the broker's metadata lists every topic with a leader for each partition.

    A consumer that subscribes before then is assigned nothing and only notices the partitions
    at its next metadata refresh, so a fresh ledger would sit idle for minutes.
    """
    deadline = time.monotonic() + timeout
    while True:
        described = admin.describe_topics(names)
        ready = [
            t["name"]
            for t in described
            if t.get("error_code", 0) == 0
            and t.get("partitions")
            and all(p.get("leader_id", -1) >= 0 for p in t["partitions"])
        ]
        if set(ready) >= set(names):
            return
        if time.monotonic() > deadline:
            missing = ", ".join(sorted(set(names) - set(ready)))
            raise ServiceError(
                f"Kafka did not make these topics available within {timeout:.0f} s: {missing}"
            )
        time.sleep(0.1)
