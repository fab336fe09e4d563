"""Where each partition of a topic ends, as the broker says now."""

from __future__ import annotations

import time

from kafka import TopicPartition
from kafka.errors import KafkaConnectionError

from ledger.kafka.reader import log_reader


def log_end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    """The end offset of each partition of ``topic``.

    Any reachable broker of the bootstrap list is enough. kafka-python (3.0) sends the metadata
    request to one broker of the list and fails when that one refuses the connection (about
    one call in ten with node 1 of three down), so a refused connection is tried again, as many
    times as the list has brokers.
    """
    for _ in bootstrap.split(","):  # one try per broker of the list, then the last one below
        try:
            return _end_offsets(bootstrap, topic)
        except KafkaConnectionError:
            time.sleep(0.2)
    return _end_offsets(bootstrap, topic)


def _end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    consumer = log_reader(bootstrap, client_id="ledger-offsets")
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        return dict(consumer.end_offsets(tps)) if tps else {}
    finally:
        consumer.close()
