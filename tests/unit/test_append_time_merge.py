"""AppendTimeMerge against a simulated fetcher: one total order, and bounded buffers."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from consumers.ordering import AppendTimeMerge

TOPIC = "disclosures"


def record(partition: int, offset: int, timestamp: int) -> ConsumerRecord:
    return ConsumerRecord(TOPIC, partition, -1, offset, timestamp, 1, None, b"", [], None, 0, 0, 0)


def partition_log(partition: int, runs: list[tuple[int, int]]) -> list[ConsumerRecord]:
    """Records whose append times rise by ``step`` after each run of ``length`` (a record batch)."""
    out, timestamp = [], 0
    for step, length in runs:
        timestamp += step
        out.extend(record(partition, len(out) + i, timestamp) for i in range(length))
    return out


def drain(
    logs: list[list[ConsumerRecord]], merge: AppendTimeMerge, fetch_sizes: list[int]
) -> tuple[list[ConsumerRecord], int, int]:
    """Polls every partition that is not caught up, as a broker fetch does, until all is released.

    Returns what was released in order, the largest buffer seen after a spill, and how many
    times a buffer was cut.
    """
    tps = [TopicPartition(TOPIC, p) for p in range(len(logs))]
    position = dict.fromkeys(tps, 0)
    released: list[ConsumerRecord] = []
    largest = cuts = 0
    total = sum(map(len, logs))
    for step in range(100_000):
        size = fetch_sizes[step % len(fetch_sizes)]
        polled = {}
        for tp in tps:
            chunk = logs[tp.partition][position[tp] : position[tp] + size]
            if chunk:
                polled[tp] = chunk
                position[tp] += len(chunk)
        merge.add(polled)
        released += merge.release(tps, lambda tp: position[tp] >= len(logs[tp.partition]))
        seeks = merge.spill()
        cuts += len(seeks)
        position.update(seeks)
        largest = max([largest, *map(len, merge.buffers.values())])
        if len(released) == total:
            return released, largest, cuts
    raise AssertionError("the merge stopped releasing records")


runs = st.lists(st.tuples(st.integers(0, 3), st.integers(1, 12)), min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(runs, min_size=1, max_size=4),
    st.integers(1, 30),
    st.lists(st.integers(1, 25), min_size=1, max_size=5),
)
def test_every_record_is_released_once_in_append_time_order(
    partition_runs: list[list[tuple[int, int]]], limit: int, fetch_sizes: list[int]
) -> None:
    logs = [partition_log(p, r) for p, r in enumerate(partition_runs)]
    released, largest, _ = drain(logs, AppendTimeMerge(limit), fetch_sizes)
    expected = sorted(
        (r for log in logs for r in log), key=lambda r: (r.timestamp, r.partition, r.offset)
    )
    assert released == expected
    # a buffer is only cut where the append time changes (runs of step 0 share one time)
    longest_run = max(
        sum(1 for r in log if r.timestamp == t.timestamp) for log in logs for t in log
    )
    assert largest <= limit + longest_run - 1


def test_a_sparse_partition_is_cut_back_instead_of_growing_with_the_backlog() -> None:
    # partition 0's records are three times as far apart in time as the others', as when one
    # partition holds a sixth of the traffic and every fetch brings the same number of bytes
    sparse = partition_log(0, [(3, 10)] * 3000)
    dense = [partition_log(p, [(1, 10)] * 9000) for p in (1, 2)]
    unbounded = drain([sparse, *dense], AppendTimeMerge(limit=10**9), [500])
    bounded = drain([sparse, *dense], AppendTimeMerge(limit=1000), [500])
    assert unbounded[1] > 10_000  # the growth this guards against
    assert bounded[0] == unbounded[0]
    assert bounded[1] < 1010
    assert bounded[2] > 0
