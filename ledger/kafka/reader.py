"""The one Kafka consumer configuration: the live consumers, replay, verify and offset probes.

Offsets are never committed to Kafka (each consumer stores its own in PostgreSQL with its rows;
docs/design.md, "Consumers and offsets"), and fetches are sized for the largest record the
producer may send, so live, replay and verify read the same bytes the same way.
"""

from __future__ import annotations

from kafka import KafkaConsumer

from ledger.kafka.client import client_config

FETCH_MAX_BYTES = 64 * 1024 * 1024
PARTITION_FETCH_BYTES = 8 * 1024 * 1024  # above the producer's largest record


def log_reader(
    bootstrap: str,
    *,
    group_id: str | None = None,
    instance_id: str | None = None,
    client_id: str = "ledger",
    max_poll_records: int = 5000,
) -> KafkaConsumer:
    """A consumer of the ledger's topics. Without ``group_id`` it belongs to no group and the
    caller assigns and seeks (replay, verify); with one it joins that group (live), under
    ``instance_id`` for static membership."""
    grouped = {} if group_id is None else {"group_id": group_id, "auto_offset_reset": "earliest"}
    if instance_id:
        grouped["group_instance_id"] = instance_id
    return KafkaConsumer(
        **client_config(bootstrap),
        **grouped,
        client_id=client_id,
        enable_auto_commit=False,
        max_poll_records=max_poll_records,
        fetch_max_bytes=FETCH_MAX_BYTES,
        max_partition_fetch_bytes=PARTITION_FETCH_BYTES,
        metadata_max_age_ms=10_000,  # notice new partitions in seconds, not minutes
    )
