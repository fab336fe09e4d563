"""Producer throughput: 100k DisclosureRecorded events through EventProducer (acks=all, idempotent).

Prints events/s beside the raw rate of kafka-python sending the same pre-encoded bytes, measured
in the same run. Usage: python -m bench.producer_throughput [N]
"""

from __future__ import annotations

import sys
import time

from kafka import KafkaProducer

from bench.common import bench_ledger, disclosures, report
from ledger.codec import EventCodec
from ledger.kafka.client import client_config
from ledger.kafka.producer import EventProducer


def main(n: int = 100_000) -> None:
    ledger = bench_ledger("producer")
    events = disclosures(n)
    codec = EventCodec()

    t0 = time.perf_counter()
    encoded = [codec.encode(e) for e in events]
    encode_s = time.perf_counter() - t0

    raw = KafkaProducer(
        **client_config(ledger.bootstrap), acks="all", linger_ms=20, batch_size=256 * 1024
    )
    t0 = time.perf_counter()
    for e, value in zip(events, encoded, strict=True):
        raw.send(ledger.topics.dlq, value=value, key=e.key.encode())
    raw.flush()
    raw_s = time.perf_counter() - t0
    raw.close()

    with EventProducer(ledger.bootstrap, ledger.topics.disclosures) as producer:
        t0 = time.perf_counter()
        producer.send(events)
        ledger_s = time.perf_counter() - t0

    report(
        f"producer throughput, {n:,} DisclosureRecorded events",
        [
            ("Avro encode only", f"{n / encode_s:,.0f} events/s"),
            ("raw kafka-python send of the same bytes", f"{n / raw_s:,.0f} events/s"),
            ("ledger EventProducer (encode + send + acks)", f"{n / ledger_s:,.0f} events/s"),
            ("ledger / raw", f"{raw_s / ledger_s:.2f}"),
        ],
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
