"""Where each partition of a topic ends, as the broker says now."""

from __future__ import annotations

from kafka import KafkaConsumer, TopicPartition

from ledger.kafka.client import client_config


def log_end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(**client_config(bootstrap), enable_auto_commit=False)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        return dict(consumer.end_offsets(tps)) if tps else {}
    finally:
        consumer.close()
