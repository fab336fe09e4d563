"""`ledger emit` refuses what the ledger cannot hold or must not take, and then sends nothing.

Runs the installed `ledger` console script against the session's Kafka and PostgreSQL, checks
the exit code, that stderr is one plain message naming the line and field but not the value,
and that the topic's end offsets did not move.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from kafka.admin import KafkaAdminClient, NewTopic

from ledger.config import Settings, Topics
from ledger.kafka.client import client_config
from ledger.kafka.offsets import log_end_offsets
from ledger.kafka.producer import (
    BROKER_DEFAULT_MAX_MESSAGE_BYTES,
    MAX_REQUEST_SIZE,
    topic_message_limit,
)
from ledger.kafka.topics import TOPIC_CONFIG
from ledger.ops.emit_file import PART_LINES
from ledger.runtime import Ledger, open_ledger
from tests.integration.helpers import cli_env, disclosure, isolated_ledger

pytestmark = pytest.mark.integration
D = date(2025, 8, 7)
SECRET = "975-00-4242"  # shaped like a TIN: must never appear in an error message
REF = "ab" * 32


@pytest.fixture(scope="module")
def led(ledger_settings: Settings) -> Ledger:
    return isolated_ledger(ledger_settings, "emitrefuse")


def total(led: Ledger) -> int:
    return sum(log_end_offsets(led.bootstrap, led.topics.disclosures).values())


def manifest(refs: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "DisclosureManifest",
        "disclosure_id": "D-big",
        "recipient_agency": "ICE",
        "chunk_index": 0,
        "chunk_count": 1,
        "taxpayer_refs": [REF] * refs,
        **extra,
    }


def run_emit(led: Ledger, tmp_path: Path, objs: list[Any]) -> subprocess.CompletedProcess[str]:
    cli = shutil.which("ledger")
    assert cli, "the ledger console script is not installed"
    path = tmp_path / f"{uuid.uuid4().hex}.jsonl"
    path.write_text("".join(o if isinstance(o, str) else json.dumps(o) + "\n" for o in objs))
    return subprocess.run(
        [cli, "emit", "--file", str(path)],
        env=cli_env(led),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def refused(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    """The one-message stderr of a refused emit, checked for what it must and must not say."""
    assert result.returncode == 5, (result.returncode, result.stderr)
    err = result.stderr
    assert err.startswith("error: "), err
    assert "nothing was sent" in err
    assert "Traceback" not in err
    for text in expected:
        assert text in err, (text, err)
    for leak in (SECRET, "975004242", "00-4242", "\x00"):
        assert leak not in err, err
    return err


def test_a_good_line_and_a_line_with_a_nul_send_nothing(led: Ledger, tmp_path: Path) -> None:
    before = total(led)
    good = disclosure(D, 10, "ICE")
    bad = disclosure(D, 10, "ICE", purpose=f"case of {SECRET}\x00")
    err = refused(run_emit(led, tmp_path, [good, bad]), "line 2: purpose contains a NUL character")
    assert "line 1" not in err
    assert total(led) == before


def test_nul_and_lone_surrogates_inside_lists_and_maps_are_named_by_field(
    led: Ledger, tmp_path: Path
) -> None:
    before = total(led)
    amended = {
        "type": "DisclosureAmended",
        "disclosure_id": "D-1",
        "recipient_agency": "ICE",
        "changes": {f"{SECRET}\x00": "x"},
        "reason": "r",
    }
    lines = [disclosure(D, 1, "ICE", tax_periods=["2024", f"{SECRET}\ud800"]), amended]
    err = refused(
        run_emit(led, tmp_path, lines),
        "line 1: tax_periods[1] contains a lone surrogate",
        "line 2: changes[key] contains a NUL character",
    )
    assert "line 3" not in err
    assert total(led) == before


@pytest.mark.parametrize("event_type", ["LedgerAccessed", "AlertRaised", "AlertAcknowledged"])
def test_events_the_ledger_writes_itself_are_refused(
    led: Ledger, tmp_path: Path, event_type: str
) -> None:
    before = total(led)
    forged = {"type": event_type, "accessor": SECRET, "alert_id": SECRET, "acknowledged_by": "x"}
    refused(
        run_emit(led, tmp_path, [disclosure(D, 1, "ICE"), forged]),
        f"line 2: {event_type} events are written by the ledger itself",
    )
    assert total(led) == before


def test_an_event_larger_than_one_kafka_message_sends_nothing(led: Ledger, tmp_path: Path) -> None:
    limit = topic_message_limit(led.bootstrap, led.topics.disclosures)
    assert limit == min(MAX_REQUEST_SIZE, BROKER_DEFAULT_MAX_MESSAGE_BYTES)  # topic left at default
    before = total(led)
    big = manifest(20_000)  # about 1.3 MB of refs: over the topic's limit, under the producer's
    err = refused(
        run_emit(led, tmp_path, [disclosure(D, 20_000, "ICE"), big]),
        "line 2: the encoded DisclosureManifest is",
        f"more than the {limit:,} bytes",
        "taxpayer_refs",
    )
    assert "line 1" not in err
    assert total(led) == before


def test_the_topics_own_message_limit_is_the_one_checked(
    ledger_settings: Settings, tmp_path: Path
) -> None:
    tag = f"limit_{uuid.uuid4().hex[:8]}"
    topics = Topics(f"t.{tag}.")
    admin = KafkaAdminClient(**client_config(ledger_settings.kafka_bootstrap or ""))
    try:
        configs = {**TOPIC_CONFIG, "max.message.bytes": "100000"}
        admin.create_topics([NewTopic(topics.disclosures, 3, 1, topic_configs=configs)])
    finally:
        admin.close()
    small = open_ledger(dataclasses.replace(ledger_settings, topics=topics, db_schema=f"t_{tag}"))
    assert topic_message_limit(small.bootstrap, topics.disclosures) == 100_000
    # 2,000 refs (about 135 kB) fit the broker default but not this topic.
    refused(run_emit(small, tmp_path, [manifest(2_000)]), "line 1:", "more than the 100,000 bytes")
    assert total(small) == 0
    # Many small events together exceed the limit: they go in batches the topic accepts.
    lines = [disclosure(D, 1, "ICE") for _ in range(1000)]  # one key: one partition
    ok = run_emit(small, tmp_path, lines)
    assert ok.returncode == 0, ok.stderr
    assert total(small) == 1000


def test_a_valid_file_is_sent_whole(led: Ledger, tmp_path: Path) -> None:
    """The control: the same lines without the bad one do move the offsets."""
    before = total(led)
    ok = run_emit(led, tmp_path, [disclosure(D, 10, "ICE"), "\n", manifest(5_000)])
    assert ok.returncode == 0, ok.stderr
    assert total(led) == before + 2


def test_a_large_file_prepared_in_workers_is_refused_by_line_or_sent_whole(
    led: Ledger, tmp_path: Path
) -> None:
    """A file of several parts is parsed in worker processes: a bad line and an oversized event
    in later parts are named by their own line numbers, and nothing is sent."""
    n = 2 * PART_LINES + 7
    lines: list[Any] = [disclosure(D, 1, f"R{i % 7}") for i in range(n)]
    before = total(led)
    bad = [*lines]
    bad[n - 3] = disclosure(D, -1, "ICE")  # line n-2
    bad[PART_LINES + 1] = manifest(20_000)  # line PART_LINES + 2 (the second part), too large
    err = refused(run_emit(led, tmp_path, bad), f"line {n - 2}: record_count")
    assert f"line {PART_LINES + 2}" not in err  # validation first: oversize is not seen
    assert total(led) == before
    big = [*lines]
    big[PART_LINES + 1] = manifest(20_000)
    refused(
        run_emit(led, tmp_path, big),
        f"line {PART_LINES + 2}: the encoded DisclosureManifest is",
        "taxpayer_refs",
    )
    assert total(led) == before
    ok = run_emit(led, tmp_path, lines)
    assert ok.returncode == 0, ok.stderr
    assert f"Sent {n} event(s)" in ok.stdout
    assert total(led) == before + n
