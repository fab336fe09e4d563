"""Per-event cost of each in-process stage of the ledger, in µs: where the CPU time goes.

No services: every stage runs on the same N ordinary disclosures in this process, one stage at a
time, best of three passes. The database and Kafka stages are measured by the end-to-end benches
(bench.vs_connect, bench.end_to_end); this separates the Python work around them.

Usage: python -m bench.stages [N]   (default 50000)
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import fastavro

from bench.common import REGISTRY, disclosures, report
from consumers.audit_log import render_json
from ledger.codec import HEADER_LEN, EventCodec
from ledger.intake import parse_lines
from ledger.rules.config import RulesConfig, load_rules_config
from ledger.rules.contents import contents_digest
from ledger.rules.judge import BatchFacts, judge_disclosures
from ledger.rules.model import DisclosureFacts
from ledger.rules.volume_book import ScopeKey, VolumeBook
from ledger.storable import record_problems
from ledger.tlog.chain import GENESIS, chain_hash, leaf_hash
from ledger.tlog.merkle import CompactRange


def best_of(passes: int, n: int, work: Callable[[], Any]) -> float:
    """µs per event of ``work`` (which handles all ``n`` events), best of ``passes``."""
    best = float("inf")
    for _ in range(passes):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best / n * 1e6


def stages(n: int) -> list[tuple[str, float]]:
    events = disclosures(n)
    codec = EventCodec()
    values = [codec.encode(e) for e in events]
    decoded = [codec.decode(v).event for v in values]
    records = [e.to_record() for e in events]
    schema = codec.registry.latest("DisclosureRecorded").parsed
    lines = [json.dumps(_line(r) | {"type": "DisclosureRecorded"}) for r in records]
    leaves = [leaf_hash(v) for v in values]
    tz = ZoneInfo("America/New_York")
    os.environ.setdefault("LEDGER_REGISTRY_FILE", str(REGISTRY))
    config = load_rules_config(None, Path(os.environ["LEDGER_REGISTRY_FILE"]))
    facts = [DisclosureFacts.from_event(e, tz) for e in decoded]

    def chain(leaves: Sequence[bytes]) -> None:
        previous = GENESIS
        for leaf in leaves:
            previous = chain_hash(previous, leaf)

    def tree(leaves: Sequence[bytes]) -> None:
        compact = CompactRange()
        for leaf in leaves:
            compact.append(leaf)

    return [
        ("intake: parse + validate a JSON line", best_of(1, n, lambda: parse_lines(lines))),
        (
            "codec: encode (Avro single-object)",
            best_of(3, n, lambda: [codec.encode(e) for e in events]),
        ),
        (
            "codec: fastavro read alone",
            best_of(
                3,
                n,
                lambda: [
                    fastavro.schemaless_reader(io.BytesIO(v[HEADER_LEN:]), schema, None)
                    for v in values
                ],
            ),
        ),
        (
            "storable: bounds check of a record",
            best_of(3, n, lambda: [record_problems(r) for r in records]),
        ),
        (
            "codec: decode (read + check + typed event)",
            best_of(3, n, lambda: [codec.decode(v) for v in values]),
        ),
        ("audit log: leaf hash", best_of(3, n, lambda: [leaf_hash(v) for v in values])),
        ("audit log: chain hash", best_of(3, n, lambda: chain(leaves))),
        ("audit log: Merkle compact range append", best_of(3, n, lambda: tree(leaves))),
        (
            "audit log: JSON body for the entries row",
            best_of(3, n, lambda: [render_json(r) for r in records]),
        ),
        (
            "volume: facts from a typed event",
            best_of(3, n, lambda: [DisclosureFacts.from_event(e, tz) for e in decoded]),
        ),
        (
            "volume: contents digest (resend detection)",
            best_of(3, n, lambda: [contents_digest(e, config.registry) for e in decoded]),
        ),
        (
            "volume: judge (every rule at every scope, batches of 500)",
            best_of(3, n, lambda: judge_all(facts, config)),
        ),
    ]


def judge_all(facts: Sequence[DisclosureFacts], config: RulesConfig, batch: int = 500) -> None:
    """The judge over ``facts`` in log order, as the volume consumer calls it: one volume book
    carried from batch to batch (as the stored volume would be), nothing else stored."""
    book = VolumeBook()
    coverage: dict[str, date] = {}
    latest: dict[ScopeKey, date] = {}
    for i in range(0, len(facts), batch):
        part = facts[i : i + batch]
        judge_disclosures(
            BatchFacts(
                disclosures=part,
                arrivals={},
                book=book,
                coverage=coverage,
                latest=latest,
                orders=(),
                notices={},
                requests={},
                transmissions=(),
            ),
            config,
        )


def _line(record: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v.isoformat() if isinstance(v, datetime) else v
        for k, v in record.items()
        if v is not None
    }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    rows = stages(n)
    report(
        f"per-event cost of each stage, {n:,} disclosures", [(k, f"{v:7.1f} µs") for k, v in rows]
    )


if __name__ == "__main__":
    main()
