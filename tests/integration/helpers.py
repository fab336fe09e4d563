"""Helpers for integration tests: isolated ledgers, emitting events, waiting for projections."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from psycopg import sql

import ledger as ledger_package
from ledger.config import Settings, Topics
from ledger.events import LedgerEvent
from ledger.intake import build_event
from ledger.kafka.offsets import log_end_offsets
from ledger.kafka.producer import EventProducer
from ledger.ops.rebuild import wait_for_live
from ledger.runtime import Ledger, open_ledger
from ledger.store.connection import connection

T = TypeVar("T")
E = TypeVar("E")
NY = ZoneInfo("America/New_York")


def isolated_ledger(settings: Settings, name: str, **changes: Any) -> Ledger:
    """A ledger with its own topics and schema on the shared test services."""
    tag = f"{name}_{uuid.uuid4().hex[:8]}"
    s = dataclasses.replace(settings, topics=Topics(f"t.{tag}."), db_schema=f"t_{tag}", **changes)
    return open_ledger(s)


def wait_until(predicate: Callable[[], T], timeout: float = 60, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def migrate_with(admin_url: str, schema: str, files: list[tuple[int, str]]) -> None:
    """Creates ``schema`` and applies ``files`` ((version, SQL text)) as ledger.store.migrate
    does, whatever migration files the package holds: a schema as older files left it."""
    with connection(admin_url, schema) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(
            "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for version, text in files:
            conn.execute(text.encode())
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                (version, f"{version:03d}"),
            )
        conn.commit()


def caught_up(
    ledger: Ledger, consumers: tuple[str, ...] = ("audit_log", "volume"), timeout: float = 60
) -> None:
    ends = {  # the agencies' and the court's topics
        tp: end
        for topic in ledger.topics.logged()
        for tp, end in log_end_offsets(ledger.bootstrap, topic).items()
    }
    assert wait_for_live(ledger.admin_url, ledger.schema, consumers, ends, timeout), "consumers lag"


def at(day: date, hour: int = 12, minute: int = 0, second: int = 0) -> str:
    return datetime.combine(day, dtime(hour, minute, second), tzinfo=NY).astimezone(UTC).isoformat()


def disclosure(
    day: date,
    records: int,
    recipient: str,
    *,
    source: str = "IRS",
    authority: str = "26 U.S.C. 6103(i)(2)",
    when: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "type": "DisclosureRecorded",
        "disclosure_id": f"D-{uuid.uuid4().hex[:10]}",
        "source_agency": source,
        "recipient_agency": recipient,
        "legal_authority": authority,
        "purpose": "Non-tax criminal investigation",
        "nature": "LAST_KNOWN_ADDRESS",
        "transmitted_at": when or at(day),
        "record_count": records,
        "tax_periods": ["2024"],
        "data_categories": ["address"],
        "match_method": "NAME_DOB_ADDRESS",
        "address_verification": "VALID",
        **extra,
    }


def emit(ledger: Ledger, objs: list[dict[str, Any]]) -> list[LedgerEvent]:
    """Validates ``objs`` as `ledger emit` would (``disclosure()`` makes them) and sends them."""
    events = [build_event(o) for o in objs]
    with EventProducer(ledger.bootstrap, ledger.topics.disclosures) as producer:
        producer.send(events)
    return events


def rows(ledger: Ledger, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    from ledger.store.connection import connection

    with connection(ledger.admin_url, ledger.schema) as conn:
        return conn.execute(query, params).fetchall()


def days_before(day: date, n: int) -> date:
    return day - timedelta(days=n)


def cli_env(ledger: Ledger) -> dict[str, str]:
    """Environment for a `ledger` subprocess that talks to ``ledger`` and runs this checkout's code.

    PYTHONPATH puts this checkout first, so the installed console script imports the code under
    test even when the package is installed (editable) from another checkout.
    """
    checkout = str(Path(ledger_package.__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (checkout, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, **ledger.environment()}


def ledger_cli(ledger: Ledger, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed `ledger` command run against ``ledger`` (exit status and output kept)."""
    exe = shutil.which("ledger")
    assert exe, "the ledger command is not installed (pip install -e .)"
    return subprocess.run(
        [exe, *args], env=cli_env(ledger), capture_output=True, text=True, timeout=300
    )


def events_on_topic(led: Ledger, kind: type[E]) -> list[E]:
    """Every event of type ``kind`` on the ledger's alerts topic, from offset 0 to its end."""
    from kafka import KafkaConsumer, TopicPartition

    from ledger.codec import EventCodec

    consumer = KafkaConsumer(bootstrap_servers=led.bootstrap, enable_auto_commit=False)
    try:
        tps = [
            TopicPartition(led.topics.alerts, p)
            for p in consumer.partitions_for_topic(led.topics.alerts) or ()
        ]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        found: list[E] = []
        codec = EventCodec()
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            for records in consumer.poll(timeout_ms=1000).values():
                for r in records:
                    event = codec.decode(r.value).event
                    if isinstance(event, kind):
                        found.append(event)
        return found
    finally:
        consumer.close()
