"""One total order for records of several partitions: (broker append time, partition, offset)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord


class AppendTimeMerge:
    """Releases buffered records of several partitions in (append time, partition, offset) order.

    Topics use LogAppendTime, so each partition's timestamps never go backwards. A record is
    released once every other assigned partition has either buffered a later record or is
    caught up with its high watermark: then no record fetched later can sort before it. This
    is what makes the order independent of how fetches happened to interleave.
    """

    def __init__(self) -> None:
        self.buffers: dict[TopicPartition, list[ConsumerRecord]] = {}

    def add(self, polled: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        for tp, records in polled.items():
            self.buffers.setdefault(tp, []).extend(records)

    def forget(self, tps: Sequence[TopicPartition]) -> None:
        for tp in tps:
            self.buffers.pop(tp, None)

    def release(
        self, assigned: Sequence[TopicPartition], caught_up: Callable[[TopicPartition], bool]
    ) -> list[ConsumerRecord]:
        bounds = []
        for tp in assigned:
            buffered = self.buffers.get(tp)
            if caught_up(tp):
                continue  # its next record will be appended after everything buffered
            if buffered:
                bounds.append(buffered[-1].timestamp)
            else:
                return []  # this partition may still hold older records: wait for its fetch
        watermark = min(bounds, default=float("inf"))
        out: list[ConsumerRecord] = []
        for tp, buffered in self.buffers.items():
            keep = [r for r in buffered if r.timestamp >= watermark]
            out.extend(r for r in buffered if r.timestamp < watermark)
            self.buffers[tp] = keep
        out.sort(key=lambda r: (r.timestamp, r.partition, r.offset))
        return out
