"""`ledger replay`: rebuild every projection from offset 0 into a fresh schema and compare.

A replay has no side effects: its followers get no publishers, so nothing goes to Kafka and no
alert is delivered; the alerts it recomputes land in its own schema for comparison.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import psycopg
from kafka import KafkaConsumer, TopicPartition
from psycopg import sql

from ledger.followers.runner import AppendTimeMerge, Follower, apply_batch, apply_merged
from ledger.kafka.client import client_config
from ledger.store.connection import connect
from ledger.store.migrate import migrate


@dataclass(frozen=True)
class Difference:
    table: str
    key: str
    detail: str


@dataclass(frozen=True)
class ReplayResult:
    schema: str
    messages: int
    seconds: float
    end_offsets: dict[str, int]
    differences: list[Difference]

    @property
    def equal(self) -> bool:
        return not self.differences


def log_end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(**client_config(bootstrap), enable_auto_commit=False)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        return dict(consumer.end_offsets(tps)) if tps else {}
    finally:
        consumer.close()


def rebuild(
    bootstrap: str,
    admin_url: str,
    schema: str,
    topic: str,
    followers: Sequence[Follower],
    progress: Callable[[int], None] | None = None,
) -> tuple[int, dict[TopicPartition, int]]:
    """Reads ``topic`` from offset 0 to its current end once, feeding every follower.

    Per-partition followers get each partition's batches as they come; merged followers get the
    same (append time, partition, offset) order as live processing (AppendTimeMerge).
    """
    migrate(admin_url, schema)
    ends = log_end_offsets(bootstrap, topic)
    consumer = KafkaConsumer(
        **client_config(bootstrap),
        enable_auto_commit=False,
        max_poll_records=5000,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    conn = connect(admin_url, schema)
    merges = {f.name: AppendTimeMerge() for f in followers if f.merged}
    total = 0
    try:
        # assign + seek, never the group's offsets (kafka-python ignores auto_offset_reset once a
        # group has committed; DESIGN section 9).
        tps = sorted(tp for tp, end in ends.items() if end > 0)
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, 0)

        def done(tp: TopicPartition) -> bool:
            return consumer.position(tp) >= ends[tp]

        while True:
            polled = {
                tp: [r for r in records if r.offset < ends[tp]]
                for tp, records in consumer.poll(timeout_ms=1000).items()
            }
            for follower in followers:
                if follower.merged:
                    merge = merges[follower.name]
                    merge.add(polled)
                    released = merge.release(tps, done)
                    if released:
                        apply_merged(conn, follower, released)
                else:
                    for tp, records in polled.items():
                        if records:
                            apply_batch(conn, follower, tp, records)
            fetched = sum(len(r) for r in polled.values())
            total += fetched
            if progress and fetched:
                progress(fetched)
            for tp in tps:
                if done(tp):
                    consumer.pause(tp)
            if all(done(tp) for tp in tps) and not any(
                m.buffers.get(tp) for m in merges.values() for tp in tps
            ):
                break
    finally:
        consumer.close()
        conn.close()
    return total, ends


# (table, key columns, compared columns); fired_at is wall-clock time and is not compared.
COMPARED = (
    ("entries", ("log_id", "seq"), ("kafka_offset", "event_id", "event_type", "value", "leaf_hash", "chain_hash")),
    ("tree_nodes", ("log_id", "level", "idx"), ("hash",)),
    ("disclosures", ("event_id",), ("disclosure_id", "recipient_agency", "legal_authority", "day", "record_count")),
    ("daily_volume", ("scope_kind", "source_agency", "scope_value", "day"), ("disclosures", "records")),
    ("alerts", ("alert_id",), ("rule", "scope", "day")),
    ("dead_letters", ("consumer", "kafka_topic", "kafka_partition", "kafka_offset"), ("reason",)),
)  # fmt: skip


def first_difference(
    conn: psycopg.Connection,
    live: str,
    replay: str,
    table: str,
    keys: Sequence[str],
    cols: Sequence[str],
) -> Difference | None:
    key_list = sql.SQL(", ").join(sql.Identifier(k) for k in keys)
    differs = sql.SQL(" OR ").join(
        sql.SQL("l.{c} IS DISTINCT FROM r.{c}").format(c=sql.Identifier(c)) for c in cols
    )
    missing = sql.SQL(" OR ").join(
        [
            sql.SQL("l.{} IS NULL").format(sql.Identifier(keys[0])),
            sql.SQL("r.{} IS NULL").format(sql.Identifier(keys[0])),
        ]
    )
    query = sql.SQL(
        "SELECT {keys}, l.{k0} IS NULL AS only_replay, r.{k0} IS NULL AS only_live"
        " FROM {live}.{t} l FULL JOIN {replay}.{t} r USING ({keys})"
        " WHERE {missing} OR {differs} ORDER BY {keys} LIMIT 1"
    ).format(
        keys=key_list,
        k0=sql.Identifier(keys[0]),
        live=sql.Identifier(live),
        replay=sql.Identifier(replay),
        t=sql.Identifier(table),
        missing=missing,
        differs=differs,
    )
    row = conn.execute(query).fetchone()
    if row is None:
        return None
    key = ", ".join(f"{k}={v}" for k, v in zip(keys, row[: len(keys)], strict=True))
    only_replay, only_live = row[len(keys)], row[len(keys) + 1]
    if only_live:
        detail = "present in the live projection only"
    elif only_replay:
        detail = "present in the replay only"
    else:
        detail = f"values of {', '.join(cols)} differ"
    return Difference(table, key, detail)


def wait_for_live(
    admin_url: str,
    live: str,
    consumers: Sequence[str],
    ends: dict[TopicPartition, int],
    timeout: float,
) -> bool:
    """Waits until the live followers have stored offsets at least as far as the replay read."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(admin_url, autocommit=True) as conn:
        while True:
            behind = False
            for tp, end in ends.items():
                for name in consumers:
                    row = conn.execute(
                        sql.SQL(
                            "SELECT next_offset FROM {}.consumer_offsets"
                            " WHERE consumer = %s AND topic = %s AND kafka_partition = %s"
                        ).format(sql.Identifier(live)),
                        (name, tp.topic, tp.partition),
                    ).fetchone()
                    if end > 0 and (row is None or row[0] < end):
                        behind = True
            if not behind:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.5)


def compare(admin_url: str, live: str, replay: str) -> list[Difference]:
    found = []
    with psycopg.connect(admin_url) as conn:
        for table, keys, cols in COMPARED:
            diff = first_difference(conn, live, replay, table, keys, cols)
            if diff:
                found.append(diff)
    return found
