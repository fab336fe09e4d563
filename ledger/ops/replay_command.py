"""Runs a replay for the CLI: fresh schema, rebuild with a progress bar, compare, clean up."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from consumers.audit_log import AuditLogConsumer
from consumers.volume import VolumeConsumer
from ledger.config import Settings
from ledger.errors import ConfigError
from ledger.kafka.offsets import log_end_offsets
from ledger.ops.rebuild import ReplayResult, rebuild, wait_for_live
from ledger.rules.config import configured_rules
from ledger.runtime import open_ledger
from ledger.store.claims import reuses
from ledger.store.comparison import Difference, compare
from ledger.store.connection import connection
from ledger.store.migrate import drop_schema, schema_exists


def run_replay(
    settings: Settings, *, into: str | None = None, keep: bool = False, show_progress: bool = True
) -> ReplayResult:
    ledger = open_ledger(settings, prepare=False)
    schema = into or f"{ledger.schema}_replay_{datetime.now(UTC):%Y%m%d%H%M%S}"
    if schema == ledger.schema:
        raise ConfigError("The replay target must not be the live schema.")
    if schema_exists(ledger.admin_url, schema):
        raise ConfigError(f"Schema {schema} already exists; a replay needs a fresh one.")
    # No publishers: a replay sends nothing to Kafka and delivers no alert.
    consumers = [
        AuditLogConsumer(),
        VolumeConsumer(configured_rules(settings), settings.timezone),
    ]
    # The topics the replayed consumers say they read, as the live runner subscribes them.
    logged = tuple(dict.fromkeys(t for c in consumers for t in c.topics(ledger.topics)))
    total = sum(sum(log_end_offsets(ledger.bootstrap, t).values()) for t in logged)
    started = time.perf_counter()
    with Progress(
        TextColumn("Replaying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=not show_progress,
        transient=True,
    ) as progress:
        task = progress.add_task("replay", total=total)
        messages, ends = rebuild(
            ledger.bootstrap,
            ledger.admin_url,
            schema,
            logged,
            consumers,
            lambda n: progress.advance(task, n),
        )
    seconds = time.perf_counter() - started
    differences = []
    if not wait_for_live(
        ledger.admin_url, ledger.schema, ["audit_log", "volume"], ends, timeout=60
    ):
        differences.append(
            Difference(
                "consumer_offsets", "live", "the live consumers have not caught up with the log"
            )
        )
    else:
        differences = compare(ledger.admin_url, ledger.schema, schema)
    with connection(ledger.admin_url, schema) as conn:
        reused = [
            f"event id {r.event_id} at {r.where} has other bytes than the record at {r.first}"
            for r in reuses(conn, same_bytes=False)
        ]
    if not keep:
        drop_schema(ledger.admin_url, schema)
    return ReplayResult(
        schema,
        messages,
        seconds,
        {f"{tp.topic}/{tp.partition}": o for tp, o in ends.items()},
        differences,
        reused,
    )
