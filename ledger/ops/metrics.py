"""Prometheus text metrics: consumer lag, stored events and their rate, alerts by rule."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg

from ledger.kafka.offsets import log_end_offsets
from ledger.runtime import Ledger

_cache: dict[str, tuple[float, dict]] = {}


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


def _ends(ledger: Ledger, topic: str) -> dict:
    hit = _cache.get(topic)
    if hit and time.monotonic() - hit[0] < 5:
        return hit[1]
    ends = log_end_offsets(ledger.bootstrap, topic)
    _cache[topic] = (time.monotonic(), ends)
    return ends


def render_metrics(conn: psycopg.Connection, ledger: Ledger, started: float) -> str:
    lines = [
        "# HELP ledger_consumer_lag Messages on the topic not yet stored by the consumer.",
        "# TYPE ledger_consumer_lag gauge",
    ]
    stored = {(c, t, p): o for c, t, p, o in conn.execute(
        "SELECT consumer, topic, kafka_partition, next_offset FROM consumer_offsets")}  # fmt: skip
    for consumer, topic in (("audit_log", ledger.topics.disclosures), ("volume", ledger.topics.disclosures),
                            ("alert_delivery", ledger.topics.alerts)):  # fmt: skip
        for tp, end in sorted(_ends(ledger, topic).items()):
            lag = end - stored.get((consumer, tp.topic, tp.partition), 0)
            lines.append(
                f'ledger_consumer_lag{{consumer="{consumer}",partition="{tp.partition}"}} {lag}'
            )
    entries = conn.execute("SELECT count(*) FROM entries").fetchone()[0]
    recent = conn.execute(
        "SELECT count(*) FROM entries WHERE recorded_at > now() - interval '60 seconds'"
    ).fetchone()[0]
    lines += [
        "# HELP ledger_entries_total Entries in the verifiable logs.",
        "# TYPE ledger_entries_total counter",
        f"ledger_entries_total {entries}",
        "# HELP ledger_events_per_second Entries appended per second over the last minute.",
        "# TYPE ledger_events_per_second gauge",
        f"ledger_events_per_second {recent / 60:.3f}",
        "# HELP ledger_alerts_total Alerts fired, by rule.",
        "# TYPE ledger_alerts_total counter",
    ]
    for rule, n in conn.execute("SELECT rule, count(*) FROM alerts GROUP BY rule ORDER BY rule"):
        lines.append(f'ledger_alerts_total{{rule="{rule}"}} {n}')
    lines.append(f"ledger_api_uptime_seconds {time.time() - started:.0f}")
    return "\n".join(lines) + "\n"
