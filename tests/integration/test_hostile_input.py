"""Nothing sent to the topics can stop a consumer, and every exit code reaches the shell.

The consumers run as the installed ``ledger consume`` process; hostile records are written straight
to the topic with kafka-python, never through ``emit``; ``ledger verify`` runs as a subprocess.
"""

from __future__ import annotations

import dataclasses
import random
import shutil
import signal
import string
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from ledger.codec import MAGIC, EventCodec
from ledger.events import DisclosureRecorded
from ledger.intake import build_event
from ledger.kafka.client import client_config
from ledger.localdev.ports import free_port
from ledger.runtime import Ledger
from ledger.store.connection import connection
from tests.integration.helpers import cli_env, disclosure, emit, isolated_ledger, rows, wait_until

pytestmark = pytest.mark.integration

D = date(2025, 8, 7)


def ledger_cli(ledger: Ledger, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    exe = shutil.which("ledger")
    assert exe, "the ledger command is not installed (pip install -e .)"
    return subprocess.run(
        [exe, *args], env=cli_env(ledger), capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def consume_process(ledger_settings, tmp_path: Path) -> Iterator[tuple[Ledger, subprocess.Popen]]:
    """An isolated ledger with ``ledger consume`` running as its own process."""
    ledger = isolated_ledger(ledger_settings, "hostile")
    log = (tmp_path / "consume.log").open("w")
    # libpq names the process's connections, so a test can cut exactly these.
    env = {**cli_env(ledger), "PGAPPNAME": f"consume-{ledger.schema}"}
    proc = subprocess.Popen(
        [shutil.which("ledger") or "ledger", "consume"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield ledger, proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def entry_landed(ledger: Ledger, event_id: str) -> bool:
    return bool(rows(ledger, "SELECT 1 FROM entries WHERE event_id = %s::uuid", (event_id,)))


def _good(recipient: str, **changes: Any) -> DisclosureRecorded:
    event = build_event(disclosure(D, 3, recipient))
    assert isinstance(event, DisclosureRecorded)
    return dataclasses.replace(event, **changes)


def hostile_values(codec: EventCodec) -> dict[str, bytes | None]:
    """One of each kind of record the issue lists; none of them passes through ``emit``."""
    rnd = random.Random(20251125)
    valid = codec.encode(_good("Hostile"))

    def encoded(**changes: Any) -> bytes:
        return codec.encode(_good("Hostile", **changes))

    # Same length as "QQQQ", so the Avro length prefix still fits: an encoded lone surrogate.
    surrogate = encoded(purpose="QQQQ").replace(b"QQQQ", b"\xed\xa0\x80Q")
    return {
        "null value": None,
        "empty value": b"",
        "random bytes": rnd.randbytes(200),
        "unknown fingerprint": MAGIC + b"\x01\x02\x03\x04\x05\x06\x07\x08" + valid[10:],
        "truncated body": valid[:-7],
        "NUL in a string": encoded(purpose="before\x00after"),
        "lone surrogate": surrogate,
        "count the database cannot hold": encoded(record_count=2**62),
        "timestamp out of range": encoded(transmitted_at=datetime(9000, 1, 1, tzinfo=UTC)),
    }


def dlq_messages(ledger: Ledger) -> list[Any]:
    consumer = KafkaConsumer(**client_config(ledger.bootstrap), enable_auto_commit=False)
    try:
        tps = [
            TopicPartition(ledger.topics.dlq, p)
            for p in consumer.partitions_for_topic(ledger.topics.dlq) or []
        ]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        out: list[Any] = []
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            for records in consumer.poll(timeout_ms=1000).values():
                out.extend(records)
        return out
    finally:
        consumer.close()


def test_every_bad_record_kind_is_dead_lettered_between_two_good_ones(consume_process) -> None:
    ledger, proc = consume_process
    codec = EventCodec()
    first, last = _good("Hostile first"), _good("Hostile last")
    # A recipient too big for the volume index (random, so TOAST cannot compress it under the
    # btree row limit): past its length bound, so the decoder refuses it in every consumer.
    huge = "".join(random.Random(7).choices(string.ascii_letters, k=24_000))
    db_refused = _good("Hostile", recipient_agency=huge)
    bad = hostile_values(codec)
    producer = KafkaProducer(**client_config(ledger.bootstrap), acks="all")
    topic = ledger.topics.disclosures
    send = lambda value: producer.send(topic, value=value, key=b"k", partition=0)  # noqa: E731
    offsets: dict[str, int] = {}
    good_offsets = [send(codec.encode(first)).get(30).offset]
    for kind, value in bad.items():
        offsets[kind] = send(value).get(30).offset
    db_offset = send(codec.encode(db_refused)).get(30).offset
    good_offsets.append(send(codec.encode(last)).get(30).offset)
    producer.close()

    wait_until(
        lambda: entry_landed(ledger, last.event_id), 60, "the good record after the bad ones"
    )
    assert entry_landed(ledger, first.event_id)
    assert proc.poll() is None, "ledger consume exited"

    def dead(consumer: str) -> dict[int, str]:
        return dict(
            rows(
                ledger,
                "SELECT kafka_offset, reason FROM dead_letters WHERE consumer = %s AND kafka_partition = 0",
                (consumer,),
            )
        )

    wait_until(lambda: db_offset in dead("volume"), 60, "the volume consumer's dead letters")
    for consumer in ("audit_log", "volume"):
        letters = dead(consumer)
        for kind, offset in offsets.items():
            assert offset in letters, f"{consumer} did not dead-letter the {kind}"
            assert letters[offset], kind
        assert not set(good_offsets) & set(letters)
    # The huge recipient is past its length bound (ledger.storable): every consumer refuses it
    # alike, so no table holds what another lacks (it once reached the volume index, refused).
    for consumer in ("audit_log", "volume"):
        assert "recipient_agency is longer than 200 characters" in dead(consumer)[db_offset]
    assert not entry_landed(ledger, db_refused.event_id)
    assert (
        rows(
            ledger,
            "SELECT count(*) FROM disclosures WHERE event_id = ANY(%s::uuid[])",
            ([first.event_id, last.event_id],),
        )[0][0]
        == 2
    )

    by_source: dict[str, dict[str, str]] = {}
    wait_until(lambda: len(dlq_messages(ledger)) >= 2 * len(offsets) + 1, 30, "DLQ messages")
    for message in dlq_messages(ledger):
        headers = {k: v.decode() for k, v in message.headers}
        by_source.setdefault(headers["dlq_source"], {})[headers["dlq_consumer"]] = headers[
            "dlq_reason"
        ]
    for kind, offset in offsets.items():
        reasons = by_source.get(f"{topic}/0@{offset}", {})
        assert reasons.get("audit_log"), f"{kind} is not in the DLQ from the audit log"
        assert reasons.get("volume"), f"{kind} is not in the DLQ from the volume consumer"
    assert by_source[f"{topic}/0@{db_offset}"]["volume"]
    malformed = rows(ledger, "SELECT evidence FROM alerts WHERE rule = 'malformed_event'")
    alerted = {e for (evidence,) in malformed for e in evidence}
    for offset in [*offsets.values(), db_offset]:
        assert f"{topic}/0@{offset}" in alerted


def test_a_nul_in_a_public_request_does_not_silence_the_ledger(consume_process, tmp_path) -> None:
    ledger, proc = consume_process
    made = ledger_cli(ledger, "token", "create", "--role", "public", "--name", "hostile-public")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1].split()[-1]
    port = free_port()
    serve_log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [shutil.which("ledger") or "ledger", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=cli_env(ledger),
        stdout=serve_log,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(f"{url}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, 60, "ledger serve")
        answer = httpx.get(
            f"{url}/api/volume?kind=source&value=%00",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert answer.status_code < 500, answer.text
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        serve_log.close()
    (after,) = emit(ledger, [disclosure(D, 1, "After the NUL request")])
    started = time.monotonic()
    wait_until(
        lambda: entry_landed(ledger, after.event_id), 10, "the disclosure after the NUL request"
    )
    assert time.monotonic() - started <= 10
    assert proc.poll() is None, "ledger consume exited"


def test_lost_database_connections_pause_then_resume_the_consumers(consume_process) -> None:
    ledger, proc = consume_process
    (before,) = emit(ledger, [disclosure(D, 1, "Before the cut")])
    wait_until(lambda: entry_landed(ledger, before.event_id), 60, "the first disclosure")

    def cut_connections() -> bool:
        with connection(ledger.admin_url, ledger.schema, autocommit=True) as conn:
            (cut,) = conn.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = %s",
                (f"consume-{ledger.schema}",),
            ).fetchone()
        return bool(cut >= 2)

    # The audit-log and volume consumers' connections at least, cut at once. One of them may be
    # between two connections (a consumer reopens its connection after a partition assignment,
    # and a cut one is reopened after a pause): then try again.
    wait_until(cut_connections, 60, "a moment when both consumers' connections could be cut")
    (after,) = emit(ledger, [disclosure(D, 1, "After the cut")])
    wait_until(lambda: entry_landed(ledger, after.event_id), 60, "the disclosure after the cut")
    assert proc.poll() is None, "ledger consume exited"


def test_verify_exit_codes_reach_the_shell(ledger_settings) -> None:
    ledger = isolated_ledger(ledger_settings, "exitcodes")
    from consumers.service import start_consumers
    from tests.integration.helpers import caught_up

    running = start_consumers(ledger, ["audit_log", "volume"])
    try:
        emit(ledger, [disclosure(D, 1, "Exit codes") for _ in range(12)])
        caught_up(ledger)
    finally:
        running.stop()
    ok = ledger_cli(ledger, "verify")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (log_id, seq) = rows(ledger, "SELECT log_id, max(seq) FROM entries GROUP BY log_id LIMIT 1")[0]
    with connection(ledger.admin_url, ledger.schema) as conn:
        conn.execute("SET session_replication_role = replica")  # a superuser behind the triggers
        conn.execute(
            "UPDATE entries SET value = overlay(value placing"
            " set_byte(substring(value from 20 for 1), 0, get_byte(value, 19) # 1) from 20 for 1)"
            " WHERE log_id = %s AND seq = %s",
            (log_id, seq),
        )
        conn.commit()
    tampered = ledger_cli(ledger, "verify")
    assert tampered.returncode == 11, tampered.stdout + tampered.stderr
    assert "content_mismatch" in tampered.stdout
    as_json = ledger_cli(ledger, "verify", "--json")
    assert as_json.returncode == 11
    assert '"exit_code": 11' in as_json.stdout
    replayed = ledger_cli(ledger, "replay")
    assert replayed.returncode == 20, replayed.stdout + replayed.stderr
    bad_arg = ledger_cli(ledger, "query", "--since", "yesterday")
    assert bad_arg.returncode == 2
    assert "Traceback" not in bad_arg.stderr
    assert len(bad_arg.stderr.strip().splitlines()) == 1
