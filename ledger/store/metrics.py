"""The counts /metrics reports: stored offsets, entries (all and recent), alerts by rule."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.store.connection import Connection


@dataclass(frozen=True)
class LedgerCounts:
    offsets: dict[tuple[str, str, int], int]  # (consumer, topic, partition) -> next offset
    entries: int
    entries_last_minute: int
    alerts_by_rule: dict[str, int]


def ledger_counts(conn: Connection) -> LedgerCounts:
    offsets = {
        (str(c), str(t), int(p)): int(o)
        for c, t, p, o in conn.execute(
            "SELECT consumer, topic, kafka_partition, next_offset FROM consumer_offsets"
        )
    }
    row = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE recorded_at > now() - interval '60 seconds')"
        " FROM entries"
    ).fetchone()
    entries, recent = (int(row[0]), int(row[1])) if row else (0, 0)
    alerts = {
        str(rule): int(n)
        for rule, n in conn.execute("SELECT rule, count(*) FROM alerts GROUP BY rule ORDER BY rule")
    }
    return LedgerCounts(offsets, entries, recent, alerts)
