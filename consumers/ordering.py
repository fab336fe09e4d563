"""One total order for records of several partitions, of one topic or several:
(broker append time, partition, topic, offset)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence

from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

# Records a partition's buffer keeps: four polls' worth (max_poll_records is 5,000), so ordinary
# interleaving is never cut, while a sparse partition cannot grow with the backlog.
BUFFER_LIMIT = 20_000


class AppendTimeMerge:
    """Releases buffered records of several partitions in (append time, partition, topic, offset)
    order. The topic breaks ties between partitions of the same number in different topics (the
    disclosures and court topics), so the order never depends on which was fetched first; with one
    topic it is the (append time, partition, offset) order it always was.

    Topics use LogAppendTime, so each partition's timestamps never go backwards. A record is
    released once every other assigned partition has either buffered a later record or is
    caught up with its high watermark: then no record fetched later can sort before it. This
    is what makes the order independent of how fetches happened to interleave.
    """

    def __init__(self, limit: int | None = None) -> None:
        self.buffers: dict[TopicPartition, list[ConsumerRecord]] = {}
        self.limit = limit or BUFFER_LIMIT

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
        out.sort(key=lambda r: (r.timestamp, r.partition, r.topic, r.offset))
        return out

    def spill(self) -> dict[TopicPartition, int]:
        """Cuts each buffer back to about ``limit`` records; returns where to fetch each cut one again.

        A partition whose fetches span more time than the others' (a sparse one: a fetch of the
        same bytes reaches further ahead) is fetched as often as they are, but the merge can only
        release it as far as the others have come, so without a bound its buffer grows with the
        backlog. The cut falls where the append time changes (a record batch shares one time):
        cutting inside a run of one time could leave a buffer that can never be released, since
        release needs a later record from every partition. The caller seeks each returned
        partition to the offset; nothing cut was released, so nothing is lost or repeated.
        """
        seeks: dict[TopicPartition, int] = {}
        for tp, buffered in self.buffers.items():
            if len(buffered) <= self.limit:
                continue
            last_kept = buffered[self.limit - 1].timestamp
            cut = bisect_right(buffered, last_kept, lo=self.limit, key=_append_time)
            if cut < len(buffered):
                seeks[tp] = buffered[cut].offset
                del buffered[cut:]
        return seeks


def _append_time(record: ConsumerRecord) -> int:
    return int(record.timestamp)
