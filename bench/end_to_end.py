"""End to end: events/s through both consumers into PostgreSQL, beside raw baselines.

In the same run it measures: the raw rate of consuming the same messages with kafka-python
(assign + seek, no processing), the raw rate of COPYing equivalent rows into PostgreSQL, the
ledger's end-to-end rate (audit log + volume consumers, offsets in the same transaction),
emit-to-alert latency of a spike event, `verify` rate and `replay` rate.
Usage: python -m bench.end_to_end [N]
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
import time
import uuid
from datetime import UTC, datetime

from kafka import KafkaConsumer

from bench.common import bench_ledger, consumer_processes, disclosures, report, stop_processes
from consumers.audit_log import AuditLogConsumer
from consumers.volume import VolumeConsumer
from ledger.kafka.client import client_config
from ledger.kafka.offsets import log_end_offsets
from ledger.kafka.producer import EventProducer
from ledger.ops.rebuild import rebuild, wait_for_live
from ledger.ops.verify import verify_all
from ledger.rules.config import load_rules_config
from ledger.store.comparison import compare
from ledger.store.connection import connection
from ledger.store.migrate import drop_schema


def raw_consume(bootstrap: str, topic: str, n: int, timeout: float | None = None) -> float:
    """Messages/s reading ``n`` messages of ``topic`` from offset 0 (TimeoutError after ``timeout`` s)."""
    ends = log_end_offsets(bootstrap, topic)
    kafka_consumer = KafkaConsumer(
        **client_config(bootstrap),
        enable_auto_commit=False,
        max_poll_records=10000,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    tps = list(ends)
    kafka_consumer.assign(tps)
    for tp in tps:
        kafka_consumer.seek(tp, 0)
    seen = 0
    t0 = time.perf_counter()
    while seen < n:
        if timeout is not None and time.perf_counter() - t0 > timeout:
            kafka_consumer.close()
            raise TimeoutError(f"raw consume read {seen} of {n} messages in {timeout:.0f} s")
        for records in kafka_consumer.poll(timeout_ms=1000).values():
            seen += len(records)
    elapsed = time.perf_counter() - t0
    kafka_consumer.close()
    return seen / elapsed


def raw_copy(admin_url: str, schema: str, n: int) -> float:
    """COPY n entry-shaped rows into a scratch table (no triggers, no hashing)."""
    with connection(admin_url, schema) as conn:
        conn.execute("CREATE TABLE raw_copy (LIKE entries INCLUDING DEFAULTS)")
        value = b"\xc3\x01" + bytes(300)
        digest = hashlib.sha256(value).digest()
        now = datetime.now(UTC)
        t0 = time.perf_counter()
        with conn.cursor().copy("COPY raw_copy FROM STDIN") as copy:
            for i in range(n):
                copy.write_row(
                    (
                        "raw/0",
                        i,
                        "raw",
                        0,
                        i,
                        uuid.uuid4(),
                        "DisclosureRecorded",
                        now,
                        now,
                        value,
                        '{"k": 1}',
                        digest,
                        digest,
                    )
                )
        conn.commit()
        elapsed = time.perf_counter() - t0
        conn.execute("DROP TABLE raw_copy")
        conn.commit()
    return n / elapsed


def main(n: int = 200_000) -> None:
    ledger = bench_ledger("e2e")
    events = disclosures(n)
    with EventProducer(ledger.bootstrap, ledger.topics.disclosures) as producer:
        for i in range(0, n, 10_000):
            producer.send(events[i : i + 10_000])

    raw_consume_rate = raw_consume(ledger.bootstrap, ledger.topics.disclosures, n)
    raw_copy_rate = raw_copy(ledger.admin_url, ledger.schema, n)

    ends = log_end_offsets(ledger.bootstrap, ledger.topics.disclosures)
    t0 = time.perf_counter()
    procs = consumer_processes(ledger, ["audit_log", "volume"])
    assert wait_for_live(
        ledger.admin_url, ledger.schema, ["audit_log", "volume"], ends, timeout=1800
    )
    e2e_s = time.perf_counter() - t0

    # Emit-to-alert latency: one transmission larger than the recipient's whole prior year.
    spike = dataclasses.replace(
        events[-1],
        event_id=str(uuid.uuid4()),
        disclosure_id="B-spike",
        record_count=10_000_000,
        recipient_agency="Recipient 0",
    )
    latencies = []
    with (
        EventProducer(ledger.bootstrap, ledger.topics.disclosures) as producer,
        connection(ledger.reader_url, ledger.schema, autocommit=True) as conn,
    ):
        t0 = time.perf_counter()
        producer.send([spike])
        while not conn.execute(
            "SELECT 1 FROM alerts WHERE rule = 'spike_over_prior_year' AND %s = ANY(evidence)",
            (spike.event_id,),
        ).fetchone():
            time.sleep(0.002)
        latencies.append(time.perf_counter() - t0)
    ends = log_end_offsets(ledger.bootstrap, ledger.topics.disclosures)
    wait_for_live(ledger.admin_url, ledger.schema, ["audit_log", "volume"], ends, timeout=120)
    stop_processes(procs)

    with connection(ledger.reader_url, ledger.schema) as conn:
        t0 = time.perf_counter()
        result = verify_all(conn, ledger.bootstrap)
        verify_s = time.perf_counter() - t0
    entries = sum(lg.entries for lg in result.logs)

    replay_schema = ledger.schema + "_replay"
    t0 = time.perf_counter()
    consumers = [
        AuditLogConsumer(),
        VolumeConsumer(load_rules_config(None), ledger.settings.timezone),
    ]
    replayed, _ = rebuild(
        ledger.bootstrap,
        ledger.admin_url,
        replay_schema,
        ledger.topics.disclosures,
        consumers,
    )
    replay_s = time.perf_counter() - t0
    differences = compare(ledger.admin_url, ledger.schema, replay_schema)
    drop_schema(ledger.admin_url, replay_schema)
    drop_schema(ledger.admin_url, ledger.schema)

    report(
        f"end to end, {n:,} DisclosureRecorded events, {len(ends)} partitions",
        [
            ("raw kafka-python consume (assign+seek)", f"{raw_consume_rate:,.0f} msg/s"),
            ("raw COPY of entry rows into PostgreSQL", f"{raw_copy_rate:,.0f} rows/s"),
            ("ledger end to end (audit log + volume processes)", f"{n / e2e_s:,.0f} events/s"),
            (
                "ledger / slower raw baseline",
                f"{(n / e2e_s) / min(raw_consume_rate, raw_copy_rate):.2f}",
            ),
            ("emit-to-alert latency (spike event)", f"{latencies[0] * 1000:.0f} ms"),
            (
                "verify (hashes + Kafka bytes + checkpoints)",
                f"{entries / verify_s:,.0f} entries/s ({'ok' if not result.findings else result.findings[0].kind})",
            ),
            (
                "replay (rebuild both projections)",
                f"{replayed / replay_s:,.0f} events/s ({'equal' if not differences else differences[0]})",
            ),
        ],
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
