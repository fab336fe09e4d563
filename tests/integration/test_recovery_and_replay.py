"""Crash safety (SIGKILL mid-batch), and replay from offset 0 equal to the live projection."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from consumers.service import start_consumers
from ledger.kafka.offsets import log_end_offsets
from ledger.kafka.producer import EventProducer
from ledger.ops.replay_command import run_replay
from ledger.ops.verify import checkpoint_checker, verify_all
from ledger.runtime import Ledger
from ledger.store.connection import connection
from tests.integration.helpers import (
    at,
    caught_up,
    cli_env,
    disclosure,
    emit,
    isolated_ledger,
    rows,
    wait_until,
)

pytestmark = pytest.mark.integration
D = date(2025, 8, 7)


def count(led: Ledger) -> int:
    return int(rows(led, "SELECT count(*) FROM entries")[0][0])


def test_a_consumer_killed_mid_batch_loses_and_duplicates_nothing(ledger_settings) -> None:
    led = isolated_ledger(ledger_settings, "sigkill")
    from bench.common import disclosures

    n = 30_000
    with EventProducer(led.bootstrap, led.topics.disclosures) as producer:
        producer.send(disclosures(n))
    argv = [sys.executable, "-m", "ledger", "consume", "--only", "audit_log"]
    first = subprocess.Popen(
        argv, env=cli_env(led), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_until(
            lambda: count(led) > 2000, timeout=120, what="the consumer to store some entries"
        )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    stored_at_kill = count(led)
    assert 0 < stored_at_kill < n, "the kill should land while the log is still being written"
    second = subprocess.Popen(
        argv, env=cli_env(led), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_until(lambda: count(led) == n, timeout=300, what="all entries after restart")
        time.sleep(1.0)  # anything still in flight would show up as a duplicate now
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(60)
    assert count(led) == n
    for log_id, entries, max_seq, distinct_offsets in rows(
        led,
        "SELECT log_id, count(*), max(seq), count(DISTINCT kafka_offset) FROM entries GROUP BY log_id",
    ):
        assert (entries, max_seq + 1, distinct_offsets) == (entries, entries, entries), log_id
    ends = log_end_offsets(led.bootstrap, led.topics.disclosures)
    assert sum(ends.values()) == n
    with connection(led.reader_url, led.schema) as conn:
        assert verify_all(conn, led.bootstrap, checkpoint_checker(led.settings)).findings == []


def alert_topic_size(led: Ledger) -> int:
    return sum(log_end_offsets(led.bootstrap, led.topics.alerts).values()) + sum(
        log_end_offsets(led.bootstrap, led.topics.dlq).values()
    )


def late_notice_story(day: date) -> list[dict[str, Any]]:
    """A notice order, a bulk transmission under it, then its notice (filed 25 hours before)."""
    sent = datetime.fromisoformat(at(day, 14))
    window = [(sent - timedelta(hours=1)).isoformat(), (sent + timedelta(hours=1)).isoformat()]
    return [
        {
            "type": "CourtOrderRecorded",
            "order_id": "O-replay",
            "case_reference": "1:25-cv-00457",
            "court": "D.D.C.",
            "order_type": "NOTICE_REQUIREMENT",
            "entered_at": at(day - timedelta(days=20)),
            "effective_at": at(day - timedelta(days=20)),
            "recipients": ["Noticed Recipient"],
            "bulk_threshold": 1000,
        },
        disclosure(day, 3000, "Noticed Recipient", when=sent.isoformat()),
        {
            "type": "NoticeFiled",
            "notice_id": "N-replay",
            "case_reference": "1:25-cv-00457",
            "filed_at": (sent - timedelta(hours=25)).isoformat(),
            "served_on": ["Court", "Plaintiffs"],
            "recipient_agency": "Noticed Recipient",
            "legal_authority": "26 U.S.C. 6103(i)(2)",
            "planned_transmission_start": window[0],
            "planned_transmission_end": window[1],
            "expected_record_count": 5000,
        },
    ]


def test_replay_rebuilds_every_projection_equal_to_live_and_publishes_nothing(
    ledger_settings,
) -> None:
    led = isolated_ledger(ledger_settings, "replay")
    running = start_consumers(led)
    try:
        history = [
            disclosure(D - timedelta(days=d), 10 + d % 7, f"Recipient {d % 4}")
            for d in range(400, 0, -3)
        ]
        emit(led, history)
        emit(led, [disclosure(D, 100_000, "Recipient 1")])
        emit(led, [disclosure(D - timedelta(days=30), 5, "Recipient 2")])  # late
        for event in late_notice_story(D):  # one by one: in this order on the broker
            emit(led, [event])
        with EventProducer(led.bootstrap, led.topics.disclosures) as producer:
            producer.send_raw(b"\xc3\x01" + bytes(8) + b"poison", b"x", [])
        caught_up(led)
    finally:
        running.stop()
    assert rows(led, "SELECT count(*) FROM alerts WHERE rule = 'spike_over_prior_year'")[0][0] >= 1
    # The notice entered after its transmission contests the alert (open, with a history).
    contested = (
        "SELECT a.rule FROM alerts a JOIN alert_status s USING (alert_id)"
        " WHERE s.status = 'open' AND s.status_reason LIKE %s"
    )
    assert rows(led, contested, ("contested: %",)) == [("bulk_without_notice",)]
    published_before = alert_topic_size(led)
    result = run_replay(led.settings, show_progress=False)
    assert result.differences == []
    assert result.equal
    assert result.messages == sum(  # the disclosures and the court topic
        sum(log_end_offsets(led.bootstrap, topic).values()) for topic in led.topics.logged()
    )
    assert alert_topic_size(led) == published_before  # a replay sends nothing


def test_a_live_merge_that_cuts_its_buffers_equals_a_replay_that_does_not(
    ledger_settings, monkeypatch
) -> None:
    # A backlog of many small record batches (distinct append times), read by the live volume
    # consumer with merge buffers of 8 records: partitions are cut back and fetched again many
    # times. A replay with the usual bound (no cut at this size) must rebuild the same tables.
    from consumers import ordering
    from consumers.runner import ConsumerRunner
    from ledger.intake import build_event

    led = isolated_ledger(ledger_settings, "mergecut")
    events = [
        build_event(disclosure(D - timedelta(days=d), 3 + d % 5, f"Recipient {d % 5}"))
        for d in range(300, 0, -2)
    ]
    with EventProducer(led.bootstrap, led.topics.disclosures) as producer:
        for start in range(0, len(events), 3):
            producer.send(events[start : start + 3])
            time.sleep(0.003)  # the next batch gets a later append time
    cuts: list[int] = []
    spill = ordering.AppendTimeMerge.spill

    def counted(merge: ordering.AppendTimeMerge) -> dict[Any, int]:
        seeks = spill(merge)
        cuts.append(len(seeks))
        return seeks

    monkeypatch.setattr(ordering, "BUFFER_LIMIT", 8)
    # polls of 20 records, so one partition's records arrive while the others have none yet
    runner_init = ConsumerRunner.__init__
    monkeypatch.setattr(
        ConsumerRunner,
        "__init__",
        lambda self, *args, **kw: runner_init(self, *args, **{**kw, "max_poll_records": 20}),
    )
    monkeypatch.setattr(ordering.AppendTimeMerge, "spill", counted)
    running = start_consumers(led)
    try:
        caught_up(led)
    finally:
        running.stop()
    monkeypatch.undo()
    assert sum(cuts) > 0, "the live merge never cut a buffer: the test shows nothing"
    assert count(led) == len(events)
    result = run_replay(led.settings, show_progress=False)
    assert result.differences == []
    assert result.equal


def test_cli_emit_validates_everything_before_sending(ledger_settings, tmp_path) -> None:
    led = isolated_ledger(ledger_settings, "cli")
    import json

    lines = [
        json.dumps(disclosure(D, 1, "CLI recipient")),
        "{broken",
        json.dumps(disclosure(D, -5, "CLI recipient")),
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    bad = subprocess.run(
        [sys.executable, "-m", "ledger", "emit", "--file", str(path)],
        env=cli_env(led),
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 5
    assert "line 2" in bad.stderr
    assert "line 3" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert (
        sum(log_end_offsets(led.bootstrap, led.topics.disclosures).values()) == 0
    )  # nothing half-sent
    path.write_text(lines[0] + "\n")
    ok = subprocess.run(
        [sys.executable, "-m", "ledger", "emit", "--file", str(path), "--json"],
        env=cli_env(led),
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)[0]["topic"] == led.topics.disclosures
    for argv, code in (
        (["query", "--since", "yesterday"], 2),
        (["query", "--limit", "0"], 2),
        (["proof", "inclusion", "--event-id", "nope"], 2),
        (["alerts", "--bogus"], 2),
    ):
        r = subprocess.run(
            [sys.executable, "-m", "ledger", *argv],
            env=cli_env(led),
            capture_output=True,
            text=True,
            check=False,
        )
        assert r.returncode == code, (argv, r.stderr)
        assert r.stderr.startswith("error:"), r.stderr
        assert "Traceback" not in r.stderr
