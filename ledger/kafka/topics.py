"""Creates the ledger's topics: infinite retention, no compaction, a configurable partition count."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from kafka.admin import (
    ACL,
    ACLOperation,
    ACLPermissionType,
    ConfigResource,
    ConfigResourceType,
    KafkaAdminClient,
    NewTopic,
    ResourcePattern,
    ResourceType,
)
from kafka.errors import (
    KafkaConnectionError,
    KafkaError,
    TopicAlreadyExistsError,
)

from ledger.config import Topics
from ledger.errors import ServiceError
from ledger.kafka.client import client_config

log = logging.getLogger(__name__)

# The log is the source of truth: nothing may ever expire or be compacted away. The broker stamps
# each record with its append time, so timestamps never go backwards within a partition and one
# order across partitions can be derived from the log itself (consumers.ordering.AppendTimeMerge).
TOPIC_CONFIG = {
    "retention.ms": "-1",
    "retention.bytes": "-1",
    "cleanup.policy": "delete",
    "message.timestamp.type": "LogAppendTime",
}


def replication_for(brokers: int) -> tuple[int, int]:
    """(replication factor, min.insync.replicas): 3 and 2 once the cluster can hold them.

    With acks=all, min ISR 2 of 3 keeps every acknowledged event through the loss of any one
    broker, and refuses writes rather than accept them on a single copy.
    """
    replicas = min(3, brokers)
    return replicas, 2 if replicas >= 3 else 1


ENSURE_BUDGET_SECONDS = 60.0


def _transient(exc: KafkaError) -> bool:
    """A broker that is down or still electing: another try, perhaps on another node, may work."""
    return isinstance(exc, KafkaConnectionError) or bool(getattr(exc, "retriable", False))


def ensure_topics(
    bootstrap: str,
    topics: Topics,
    partitions: int = 3,
    budget: float = ENSURE_BUDGET_SECONDS,
) -> list[str]:
    """Creates any missing ledger topic; returns the names it created (existing ones are kept).

    The admin client talks to one node at a time, so a broker of the list being down fails a
    single attempt; any one node is enough, so transient errors are retried with a fresh client
    for ``budget`` seconds before the outage is reported.
    """
    deadline = time.monotonic() + budget
    warned = False
    while True:
        try:
            return _ensure_topics_once(bootstrap, topics, partitions)
        except KafkaError as exc:
            if not _transient(exc):
                raise
            if time.monotonic() > deadline:
                raise ServiceError(f"Cannot reach Kafka at {bootstrap}: {exc}") from exc
            if not warned:
                log.warning("Kafka at %s: %s; retrying for up to %.0f s", bootstrap, exc, budget)
                warned = True
            time.sleep(1.0)


def _ensure_topics_once(bootstrap: str, topics: Topics, partitions: int) -> list[str]:
    admin = KafkaAdminClient(**client_config(bootstrap), client_id="ledger-admin")
    try:
        existing = set(admin.list_topics())
        replicas, min_isr = replication_for(len(admin.describe_cluster().get("brokers", [])))
        config = {**TOPIC_CONFIG, "min.insync.replicas": str(min_isr)}
        wanted = [
            NewTopic(name, partitions, replicas, topic_configs=dict(config))
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
        if admin.config.get("sasl_mechanism"):  # an authenticated cluster: say who writes what
            grant_writers(admin, topics)
        return created
    finally:
        admin.close()


def writer_principals(env: dict[str, str] | None = None) -> dict[str, list[str]]:
    """Kafka principals allowed to write each outside writer's topic (the ledger, a super user,
    writes the others): LEDGER_KAFKA_AGENCY_PRINCIPALS and LEDGER_KAFKA_COURT_PRINCIPALS,
    comma-separated, default ``User:agency`` and ``User:court`` (the local brokers' users)."""
    e = os.environ if env is None else env

    def names(var: str, default: str) -> list[str]:
        return [p.strip() for p in (e.get(var) or default).split(",") if p.strip()]

    return {
        "agency": names("LEDGER_KAFKA_AGENCY_PRINCIPALS", "User:agency"),
        "court": names("LEDGER_KAFKA_COURT_PRINCIPALS", "User:court"),
    }


def grant_writers(admin: KafkaAdminClient, topics: Topics) -> None:
    """ALLOW WRITE and DESCRIBE: agencies on the disclosures topic, the court's clerk on the
    court topic. Nothing else is granted, so with the StandardAuthorizer (no ACL, no access)
    neither may write the other's topic, the alerts topic or the dead-letter topic."""
    principals = writer_principals()
    grants = [(p, topics.disclosures) for p in principals["agency"]] + [
        (p, topics.court) for p in principals["court"]
    ]
    acls = [
        ACL(
            principal,
            "*",
            operation,
            ACLPermissionType.ALLOW,
            ResourcePattern(ResourceType.TOPIC, topic),
        )
        for principal, topic in grants
        for operation in (ACLOperation.WRITE, ACLOperation.DESCRIBE)
    ]
    result = admin.create_acls(acls)
    failed = result.get("failed", []) if isinstance(result, dict) else []
    if failed:
        raise ServiceError(f"Kafka refused the ledger's topic ACLs: {failed[0]}")


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


def topic_config(bootstrap: str, topic: str, name: str) -> str | None:
    """One configuration value of a topic as the broker reports it; None if it cannot be read."""
    try:
        admin = KafkaAdminClient(**client_config(bootstrap), client_id="ledger-admin")
    except KafkaError:
        return None
    try:
        resource = ConfigResource(ConfigResourceType.TOPIC, topic, {name: None})
        try:  # kafka-python 3 answers a dict and, by default, only values someone changed
            result = admin.describe_configs([resource], config_filter="all")
        except TypeError:  # kafka-python 2: no config_filter; raw responses
            result = admin.describe_configs([resource])
        return _config_value(result, name)
    except Exception:  # any failure to read it means "unknown" to the caller
        return None
    finally:
        admin.close()


def _config_value(result: Any, name: str) -> str | None:
    if isinstance(result, dict):  # {resource type: {resource name: {config name: {"value": ..}}}}
        for resources in result.values():
            for configs in resources.values():
                entry = configs.get(name)
                if entry is not None:
                    value = entry.get("value")
                    return None if value is None else str(value)
        return None
    for response in result:  # kafka-python 2: (error, message, type, name, [(name, value, ...)])
        for resource in getattr(response, "resources", []):
            for entry in resource[4]:
                if entry[0] == name:
                    return None if entry[1] is None else str(entry[1])
    return None
