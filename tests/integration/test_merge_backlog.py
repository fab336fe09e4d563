"""A merged consumer (volume) started on a backlog, beside an empty court topic, catches up.

The append-time merge releases a record once every other assigned partition is caught up or has
buffered a later one. An empty court partition may never get a high watermark from kafka-python
(incremental fetch sessions leave unchanged partitions out of their responses), and the volume
consumer then waited for it forever: started on 20,000 disclosures it stored nothing. The runner
now asks such a partition's end offset. Against a long-running local broker (many topics and
consumers before it) this test failed without the fix and passes with it; against the suite's
fresh broker it passed either way, so here it guards the behaviour rather than reproducing the
hang every time.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest

from consumers.service import start_consumers
from ledger.intake import build_event
from ledger.kafka.producer import EventProducer
from tests.integration.helpers import disclosure, isolated_ledger, rows, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BACKLOG = 20_000


def test_volume_consumer_started_on_a_backlog_catches_up(ledger_settings) -> None:
    led = isolated_ledger(ledger_settings, "backlog", partitions=3)
    first = build_event(disclosure(date(2025, 1, 1), 3, "Recipient 0"))
    events = [
        dataclasses.replace(
            first,
            event_id=f"00000000-0000-4000-8000-{i:012d}",
            disclosure_id=f"D-backlog-{i}",
            recipient_agency=f"Recipient {i % 12}",
            taxpayer_refs=tuple(f"{(i * 7 + j) % 5000:064x}" for j in range(1 + i % 3)),
            transmitted_at=first.transmitted_at + timedelta(minutes=7 * i),
        )
        for i in range(BACKLOG)
    ]
    with EventProducer(led.bootstrap, led.topics.disclosures) as producer:
        for start in range(0, BACKLOG, 1000):
            producer.send(events[start : start + 1000])
    running = start_consumers(led, ["volume"])  # on the whole backlog at once
    try:
        stored = "SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE consumer = %s"
        wait_until(
            lambda: rows(led, stored, ("volume",))[0][0] >= BACKLOG,
            timeout=180,
            what="the volume consumer through the backlog",
        )
    finally:
        running.stop()
