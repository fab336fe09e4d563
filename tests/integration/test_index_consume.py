"""The taxpayer index under `ledger consume`: supervised like the Kafka consumers, it keeps the
index current while the ledger ingests, `--only taxpayer_index` restarts where it stopped, and
a failed round is kept and retried by a fresh indexer."""

from __future__ import annotations

import shutil
import signal
import subprocess
from datetime import date

import pytest

from ledger.ops.taxpayer_index import verify_index
from ledger.privacy import load_taxpayer_key, taxpayer_key_path, taxpayer_ref
from ledger.runtime import Ledger
from tests.integration.helpers import cli_env, disclosure, emit, isolated_ledger, rows, wait_until

pytestmark = pytest.mark.integration
D = date(2025, 8, 7)


def consume(led: Ledger, *only: str) -> subprocess.Popen[bytes]:
    args = [a for name in only for a in ("--only", name)]
    return subprocess.Popen(
        [shutil.which("ledger") or "ledger", "consume", *args],
        env=cli_env(led),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def stop(proc: subprocess.Popen[bytes]) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    return proc.stderr.read().decode(errors="replace") if proc.stderr else ""


def indexed(led: Ledger, entries: int) -> list[tuple[int, int]]:
    """(snapshot seq, entries covered) of every snapshot once one covers ``entries`` entries."""

    def covered() -> list[tuple[int, int]]:
        got = rows(
            led,
            "SELECT s.snapshot_seq, coalesce(sum(c.tree_size), 0) FROM taxpayer_index_snapshots s"
            " LEFT JOIN taxpayer_index_coverage c USING (snapshot_seq) GROUP BY 1 ORDER BY 1",
        )
        return got if got and got[-1][1] >= entries else []

    return wait_until(covered, 120, f"an index snapshot covering {entries} entries")


def postings(led: Ledger) -> int:
    return int(rows(led, "SELECT count(*) FROM taxpayer_index_postings")[0][0])


def test_ledger_consume_keeps_the_taxpayer_index_current(ledger_settings) -> None:
    led = isolated_ledger(ledger_settings, "idxconsume", partitions=1)
    ref = taxpayer_ref(load_taxpayer_key(taxpayer_key_path(led.settings)), "123-45-6789")
    proc = consume(led)  # every consumer, one process each, as `ledger demo` and operators run it
    try:
        emit(led, [disclosure(D, 1, "ICE", taxpayer_refs=[ref]), disclosure(D, 2, "Other")])
        first = indexed(led, 2)
        assert postings(led) == 1
        emit(led, [disclosure(D, 3, "ICE", taxpayer_refs=[ref])])
        assert len(indexed(led, 3)) > len(first)
        assert postings(led) == 2
        signed = rows(led, "SELECT max(tree_size) FROM taxpayer_index_checkpoints")[0][0]
        assert signed == len(indexed(led, 3))  # each snapshot is a leaf of the signed index log
    finally:
        err = stop(proc)
    assert proc.returncode is not None, err
    assert verify_index(led) is None


def test_consume_only_taxpayer_index_restarts_where_it_stopped(ledger_settings) -> None:
    led = isolated_ledger(ledger_settings, "idxonly", partitions=1)
    ref = taxpayer_ref(load_taxpayer_key(taxpayer_key_path(led.settings)), "123-45-6789")
    audit = consume(led, "audit_log")
    index = consume(led, "taxpayer_index")
    try:
        emit(led, [disclosure(D, 1, "ICE", taxpayer_refs=[ref])])
        before = indexed(led, 1)
        err = stop(index)
        assert index.returncode == 0, err
        emit(led, [disclosure(D, 2, "ICE", taxpayer_refs=[ref]), disclosure(D, 3, "Other")])
        wait_until(
            lambda: rows(led, "SELECT coalesce(max(tree_size), 0) FROM checkpoints")[0][0] >= 3,
            what="a checkpoint of 3 entries",
        )
        assert rows(led, "SELECT count(*) FROM taxpayer_index_snapshots")[0][0] == len(before)
        index = consume(led, "taxpayer_index")  # a new process: loads the rows, goes on
        after = indexed(led, 3)
        assert [s for s, _ in after] == list(range(len(after)))  # no snapshot number repeated
        assert postings(led) == 2
    finally:
        stop(index)
        stop(audit)
    assert verify_index(led) is None


def test_a_failed_index_round_is_kept_and_retried_by_a_fresh_indexer(
    ledger_settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from consumers import taxpayer_index_service as service
    from consumers.service import start_consumers

    led = isolated_ledger(ledger_settings, "idxretry", partitions=1)
    ref = taxpayer_ref(load_taxpayer_key(taxpayer_key_path(led.settings)), "123-45-6789")
    real, calls = service.update_index, []

    def first_fails(ledger: Ledger, indexer=None):
        calls.append(indexer)
        if len(calls) == 1:
            raise RuntimeError("the first round fails")
        return real(ledger, indexer)

    monkeypatch.setattr(service, "update_index", first_fails)
    running = start_consumers(led, ["audit_log", "taxpayer_index"])
    try:
        emit(led, [disclosure(D, 1, "ICE", taxpayer_refs=[ref])])
        indexed(led, 1)
        loop = running.index
        assert loop is not None
        assert [str(e) for e in loop.errors] == ["the first round fails"]
        assert loop.restarts == 1
        assert loop.snapshots >= 1
        assert calls[1] is not calls[0]  # a fresh indexer, loaded from the stored rows
    finally:
        running.stop()
    assert postings(led) == 1
