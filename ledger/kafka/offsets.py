"""Where each partition of a topic ends, as the broker says now."""

from __future__ import annotations

from kafka import TopicPartition

from ledger.kafka.reader import log_reader


def log_end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    consumer = log_reader(bootstrap, client_id="ledger-offsets")
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        return dict(consumer.end_offsets(tps)) if tps else {}
    finally:
        consumer.close()
