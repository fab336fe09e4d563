"""AppendTimeMerge over two topics (disclosures and court): one order whatever the fetching."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from consumers.ordering import AppendTimeMerge

TOPICS = ("t.ledger.disclosures", "t.ledger.court")


def log_of(tp: TopicPartition, steps: list[int]) -> list[ConsumerRecord]:
    out, timestamp = [], 0
    for offset, step in enumerate(steps):
        timestamp += step  # append times never go back within a partition
        out.append(
            ConsumerRecord(
                tp.topic, tp.partition, -1, offset, timestamp, 1, None, b"", [], None, 0, 0, 0
            )
        )
    return out


def drain(logs: dict[TopicPartition, list[ConsumerRecord]], sizes: list[int]) -> list[tuple]:
    merge = AppendTimeMerge(limit=7)
    tps = sorted(logs)
    position = dict.fromkeys(tps, 0)
    released: list[ConsumerRecord] = []
    total = sum(map(len, logs.values()))
    for step in range(100_000):
        polled = {}
        for i, tp in enumerate(tps):
            size = sizes[(step + i) % len(sizes)]  # partitions fetched unevenly
            chunk = logs[tp][position[tp] : position[tp] + size]
            if chunk:
                polled[tp] = chunk
                position[tp] += len(chunk)
        merge.add(polled)
        released += merge.release(tps, lambda tp: position[tp] >= len(logs[tp]))
        position.update(merge.spill())
        if len(released) == total:
            return [(r.topic, r.partition, r.offset) for r in released]
    raise AssertionError("the merge stopped releasing records")


steps = st.lists(st.integers(0, 2), min_size=0, max_size=25)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(steps, min_size=4, max_size=4),
    st.lists(st.integers(1, 9), min_size=1, max_size=4),
    st.lists(st.integers(1, 9), min_size=1, max_size=4),
)
def test_two_topics_merge_in_one_order_whatever_the_fetch_sizes(
    partition_steps: list[list[int]], sizes: list[int], other_sizes: list[int]
) -> None:
    # Partition numbers repeat across the topics, so ties on (time, partition) are common.
    tps = [TopicPartition(topic, p) for topic in TOPICS for p in (0, 1)]
    logs = {tp: log_of(tp, s) for tp, s in zip(tps, partition_steps, strict=True)}
    live, replay = drain(logs, sizes), drain(logs, other_sizes)
    expected = sorted(
        (r for log in logs.values() for r in log),
        key=lambda r: (r.timestamp, r.partition, r.topic, r.offset),
    )
    assert live == replay == [(r.topic, r.partition, r.offset) for r in expected]
