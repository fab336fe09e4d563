"""Every offset accounted for: an event id already in the log means its first bytes, everywhere.

Hostile records go straight to the topic with kafka-python (as an attacker who can write the
topic would), good ones through intake; the consumers run in this process, ``ledger verify``,
``ledger replay`` and ``ledger emit`` as the installed console script.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from consumers.service import start_consumers
from ledger.codec import EventCodec
from ledger.events import LedgerEvent
from ledger.intake import build_event
from ledger.kafka.client import client_config
from ledger.kafka.offsets import log_end_offsets
from ledger.runtime import Ledger
from ledger.store.connection import connection
from tests.integration.helpers import (
    caught_up,
    disclosure,
    emit,
    isolated_ledger,
    ledger_cli,
    rows,
    wait_until,
)

pytestmark = pytest.mark.integration
D = date(2025, 8, 7)


@pytest.fixture
def led(ledger_settings) -> Iterator[Ledger]:
    """A ledger of its own (verify and replay judge all of it) with its consumers running."""
    ledger = isolated_ledger(ledger_settings, "reuse")
    running = start_consumers(ledger, ["audit_log", "volume"])
    yield ledger
    running.stop()
    assert not running.errors, running.errors


def write_raw(ledger: Ledger, event: LedgerEvent, partition: int) -> str:
    """Writes ``event`` straight to the topic (no emit, no checks); its ``topic/partition@offset``."""
    producer = KafkaProducer(**client_config(ledger.bootstrap), acks="all")
    try:
        sent = producer.send(
            ledger.topics.disclosures,
            value=EventCodec().encode(event),
            key=b"k",
            partition=partition,
        ).get(30)
    finally:
        producer.close()
    return f"{sent.topic}/{sent.partition}@{sent.offset}"


def where_entry(ledger: Ledger, event_id: str) -> str:
    [(topic, partition, offset)] = rows(
        ledger,
        "SELECT kafka_topic, kafka_partition, kafka_offset FROM entries WHERE event_id = %s",
        (event_id,),
    )
    return f"{topic}/{partition}@{offset}"


def partition_of(where: str) -> int:
    return int(where.rpartition("/")[2].partition("@")[0])


def dead_letters_at(ledger: Ledger, where: str) -> dict[str, str]:
    topic, _, rest = where.rpartition("/")
    partition, _, offset = rest.partition("@")
    return dict(
        rows(
            ledger,
            "SELECT consumer, reason FROM dead_letters WHERE kafka_topic = %s"
            " AND kafka_partition = %s AND kafka_offset = %s",
            (topic, int(partition), int(offset)),
        )
    )


def records_to(ledger: Ledger, recipient: str) -> int:
    return int(
        rows(
            ledger,
            "SELECT coalesce(sum(records), 0) FROM daily_volume"
            " WHERE scope_kind = 'recipient' AND scope_value = %s",
            (recipient,),
        )[0][0]
    )


def test_reused_event_id_with_other_bytes_is_a_critical_finding(led: Ledger) -> None:
    office = f"First Office {uuid.uuid4().hex[:6]}"
    [first] = emit(led, [disclosure(D, 3, office)])
    caught_up(led)
    held = where_entry(led, first.event_id)
    # The same id, 400,000 records to ICE, on another partition than the first; then the first
    # event's exact bytes again at a new offset (a harmless redelivery).
    forged = dataclasses.replace(first, recipient_agency="ICE", record_count=400_000)
    reused = write_raw(led, forged, partition=(partition_of(held) + 1) % 3)
    again = write_raw(led, first, partition=partition_of(held))
    caught_up(led)

    assert where_entry(led, first.event_id) == held  # the log still holds the first bytes only
    letters = wait_until(
        lambda: (d := dead_letters_at(led, reused)) and len(d) == 2 and d, 60, "dead letters"
    )
    for consumer in ("audit_log", "volume"):
        assert reused in letters[consumer], letters
        assert held in letters[consumer], letters
    [(severity, evidence, message)] = rows(
        led, "SELECT severity, evidence, message FROM alerts WHERE rule = 'reused_event_id'"
    )
    assert severity == "critical"
    assert evidence[:2] == [reused, held]
    assert reused in message
    assert held in message
    assert records_to(led, "ICE") == 0
    # The redelivery is recorded, not dead-lettered, and raises nothing.
    assert dead_letters_at(led, again) == {}
    assert rows(
        led,
        "SELECT same_bytes FROM reused_event_ids WHERE event_id = %s ORDER BY same_bytes",
        (first.event_id,),
    ) == [(False,), (True,)]

    verified = ledger_cli(led, "verify", "--json")
    assert verified.returncode == 17, verified.stdout + verified.stderr
    kinds = {f["kind"] for f in json.loads(verified.stdout)["findings"]}
    assert kinds == {"reused_event_id"}, verified.stdout  # the redelivery is accounted for
    replayed = ledger_cli(led, "replay")
    assert replayed.returncode == 17, replayed.stdout + replayed.stderr
    assert reused in replayed.stdout


def test_reused_access_event_id_is_not_counted(led: Ledger) -> None:
    access = build_event(
        {
            "type": "LedgerAccessed",
            "accessor": "public-reader",
            "role": "public",
            "action": "GET /api/volume",
            "query": {"kind": "source"},
            "records_returned": 1,
            "status": 200,
        }
    )
    held = write_raw(led, access, partition=0)
    forged = dataclasses.replace(
        build_event(disclosure(D, 500_000, "ICE")), event_id=access.event_id
    )
    reused = write_raw(led, forged, partition=1)
    caught_up(led)
    wait_until(lambda: "volume" in dead_letters_at(led, reused), 60, "the volume dead letter")
    assert records_to(led, "ICE") == 0
    assert rows(
        led, "SELECT count(*) FROM disclosures WHERE event_id = %s", (access.event_id,)
    ) == [(0,)]
    cited = rows(
        led,
        "SELECT rule, severity FROM alerts WHERE %s = ANY(evidence) ORDER BY rule",
        (access.event_id,),
    )
    assert cited == [("reused_event_id", "critical")]  # no spike cites the access record
    assert where_entry(led, access.event_id) == held


def test_verify_fails_on_unaccounted_offset(ledger_settings) -> None:
    ledger = isolated_ledger(ledger_settings, "unaccounted")
    running = start_consumers(ledger, ["audit_log", "volume"])
    try:
        emit(ledger, [disclosure(D, 1, "Accounted") for _ in range(5)])
        caught_up(ledger)
    finally:
        running.stop()
    assert ledger_cli(ledger, "verify").returncode == 0
    # A record the audit log passed over without a trace (as a consumer that skipped a reused
    # id did): its offset is stored as read, yet no entry, dead letter or redelivery names it.
    skipped = write_raw(ledger, build_event(disclosure(D, 1, "Skipped")), partition=2)
    offset = int(skipped.rpartition("@")[2])
    with connection(ledger.admin_url, ledger.schema) as conn:
        conn.execute(
            "INSERT INTO consumer_offsets (consumer, topic, kafka_partition, next_offset)"
            " VALUES ('audit_log', %s, 2, %s) ON CONFLICT (consumer, topic, kafka_partition)"
            " DO UPDATE SET next_offset = excluded.next_offset",
            (ledger.topics.disclosures, offset + 1),
        )
        conn.commit()
    result = ledger_cli(ledger, "verify")
    assert result.returncode == 16, result.stdout + result.stderr
    assert "unaccounted_offset" in result.stdout
    assert f"{ledger.topics.disclosures}/2" in result.stdout


def run_emit(
    ledger: Ledger, tmp_path: Path, objs: list[dict[str, Any]]
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / f"{uuid.uuid4().hex}.jsonl"
    path.write_text("".join(json.dumps(o) + "\n" for o in objs))
    return ledger_cli(ledger, "emit", "--file", str(path))


def test_emit_refuses_taken_event_id(led: Ledger, tmp_path: Path) -> None:
    event_id = str(uuid.uuid4())
    first = run_emit(led, tmp_path, [{**disclosure(D, 3, "SSA"), "event_id": event_id}])
    assert first.returncode == 0, first.stderr
    caught_up(led)
    before = log_end_offsets(led.bootstrap, led.topics.disclosures)
    again = run_emit(
        led, tmp_path, [{**disclosure(D, 250_000, "ICE"), "event_id": event_id.upper()}]
    )
    assert again.returncode == 5, again.stdout + again.stderr
    assert len(again.stderr.strip().splitlines()) == 1, again.stderr
    assert event_id in again.stderr
    assert "already in the ledger" in again.stderr
    assert "Traceback" not in again.stderr
    twice = str(uuid.uuid4())
    repeated = run_emit(
        led, tmp_path, [{**disclosure(D, 1, "SSA"), "event_id": twice} for _ in range(2)]
    )
    assert repeated.returncode == 5, repeated.stderr
    assert "line 2" in repeated.stderr
    assert len(repeated.stderr.strip().splitlines()) == 1
    assert log_end_offsets(led.bootstrap, led.topics.disclosures) == before
