"""Prometheus text metrics: consumer lag, stored events and their rate, alerts by rule."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from kafka import TopicPartition

from ledger.kafka.offsets import log_end_offsets
from ledger.runtime import Ledger
from ledger.store import Connection
from ledger.store.metrics import ledger_counts

_cache: dict[str, tuple[float, dict[TopicPartition, int]]] = {}


class RenderCache:
    """Reuses the last rendering for ``ttl`` seconds; one rendering at a time.

    /metrics is public and each rendering counts tables and asks Kafka for end offsets, so a
    scraper (or anyone) calling it in a loop must not turn into load on the ledger.
    """

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._at: float | None = None
        self._text = ""

    def get(self, render: Callable[[], str]) -> str:
        with self._lock:
            now = self.clock()
            if self._at is None or now - self._at >= self.ttl:
                self._text = render()
                self._at = now
            return self._text


def _ends(ledger: Ledger, topic: str) -> dict[TopicPartition, int]:
    hit = _cache.get(topic)
    if hit and time.monotonic() - hit[0] < 5:
        return hit[1]
    ends = log_end_offsets(ledger.bootstrap, topic)
    _cache[topic] = (time.monotonic(), ends)
    return ends


def render_metrics(conn: Connection, ledger: Ledger, started: float) -> str:
    counts = ledger_counts(conn)
    lines = [
        "# HELP ledger_consumer_lag Messages on the topic not yet stored by the consumer.",
        "# TYPE ledger_consumer_lag gauge",
    ]
    followed = (
        ("audit_log", ledger.topics.disclosures),
        ("volume", ledger.topics.disclosures),
        ("alert_delivery", ledger.topics.alerts),
    )
    for consumer, topic in followed:
        for tp, end in sorted(_ends(ledger, topic).items()):
            lag = end - counts.offsets.get((consumer, tp.topic, tp.partition), 0)
            lines.append(
                f'ledger_consumer_lag{{consumer="{consumer}",partition="{tp.partition}"}} {lag}'
            )
    lines += [
        "# HELP ledger_entries_total Entries in the verifiable logs.",
        "# TYPE ledger_entries_total counter",
        f"ledger_entries_total {counts.entries}",
        "# HELP ledger_events_per_second Entries appended per second over the last minute.",
        "# TYPE ledger_events_per_second gauge",
        f"ledger_events_per_second {counts.entries_last_minute / 60:.3f}",
        "# HELP ledger_alerts_total Alerts fired, by rule.",
        "# TYPE ledger_alerts_total counter",
    ]
    for rule, n in counts.alerts_by_rule.items():
        lines.append(f'ledger_alerts_total{{rule="{rule}"}} {n}')
    lines.append(f"ledger_api_uptime_seconds {time.time() - started:.0f}")
    return "\n".join(lines) + "\n"
