"""Signed checkpoints and proofs from the real ledger, checked offline; tampering is caught."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from consumers.service import start_consumers
from ledger.keys import load_signers, signing_key_path
from ledger.ops.proofs import consistency_proof_json, inclusion_proof_json
from ledger.ops.verify import checkpoint_checker, verify_all, verify_ledger
from ledger.runtime import Ledger
from ledger.store.connection import connection
from ledger.tlog import merkle
from ledger.tlog.chain import GENESIS, chain_hash, leaf_hash
from ledger.tlog.merkle import CompactRange, ProofError
from tests.integration.helpers import caught_up, disclosure, emit, isolated_ledger, rows, wait_until

pytestmark = pytest.mark.integration
D = date(2025, 8, 7)


@pytest.fixture(scope="module")
def ledger(ledger_settings) -> Iterator[Ledger]:
    led = isolated_ledger(ledger_settings, "proofs", partitions=1)
    running = start_consumers(led)
    try:
        emit(led, [disclosure(D, i + 1, "Proof recipient") for i in range(40)])
        caught_up(led)
        wait_until(
            lambda: rows(led, "SELECT max(tree_size) FROM checkpoints")[0][0] == 40,
            what="checkpoint of 40",
        )
        yield led
    finally:
        running.stop()


def vkey(led: Ledger) -> str:
    return load_signers(signing_key_path(led.settings))[0].vkey


def test_inclusion_proof_verifies_offline_with_the_cli(ledger: Ledger, tmp_path: Path) -> None:
    event_id = rows(ledger, "SELECT event_id::text FROM entries WHERE seq = 17")[0][0]
    with connection(ledger.reader_url, ledger.schema) as conn:
        proof = inclusion_proof_json(conn, event_id)
    assert set(proof) == {
        "log",
        "leaf_index",
        "tree_size",
        "leaf_hash",
        "value",
        "hashes",
        "checkpoint",
    }
    assert proof["leaf_index"] == 17
    assert proof["checkpoint"].split("\n")[1] == str(proof["tree_size"])
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(proof))
    ok = subprocess.run(
        [shutil.which("ledger") or "ledger", "verify-proof", str(path), "--key", vkey(ledger)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "inclusion proof" in ok.stdout
    proof["leaf_index"] = 16
    path.write_text(json.dumps(proof))
    bad = subprocess.run(
        [shutil.which("ledger") or "ledger", "verify-proof", str(path), "--key", vkey(ledger)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 6
    assert "Traceback" not in bad.stderr
    assert bad.stderr.count("\n") == 1


def test_consistency_proof_between_checkpoints(ledger: Ledger, tmp_path: Path) -> None:
    log_id, old = rows(ledger, "SELECT log_id, min(tree_size) FROM checkpoints GROUP BY log_id")[0]
    with connection(ledger.reader_url, ledger.schema) as conn:
        proof = consistency_proof_json(conn, log_id, old, 40)
    path = tmp_path / "consistency.json"
    path.write_text(json.dumps(proof))
    from ledger.tlog.offline import check_proof_file

    assert check_proof_file(path, [vkey(ledger)]).kind == "consistency"


def test_verify_checks_every_checkpoint(ledger: Ledger) -> None:
    with connection(ledger.reader_url, ledger.schema) as conn:
        report = verify_all(conn, ledger.bootstrap, checkpoint_checker(ledger.settings))
    assert report.findings == []
    assert report.logs[0].checkpoints >= 1


def _rewrite_log(led: Ledger, log_id: str, seq: int) -> None:
    """A thorough forger: alters one message and recomputes every hash and tree node after it."""
    with connection(led.admin_url, led.schema) as conn:
        conn.execute("SET session_replication_role = replica")  # superuser: triggers off
        entries = conn.execute(
            "SELECT seq, value FROM entries WHERE log_id = %s ORDER BY seq", (log_id,)
        ).fetchall()
        previous, tree = GENESIS, CompactRange()
        for s, value in entries:
            value = bytes(value) + (b"\x00" if s == seq else b"")
            leaf = leaf_hash(value)
            previous = chain_hash(previous, leaf)
            conn.execute(
                "UPDATE entries SET value = %s, leaf_hash = %s, chain_hash = %s WHERE log_id = %s AND seq = %s",
                (value, leaf, previous, log_id, s),
            )
            for level, idx, h in tree.append(leaf):
                conn.execute(
                    "UPDATE tree_nodes SET hash = %s WHERE log_id = %s AND level = %s AND idx = %s",
                    (h, log_id, level, idx),
                )
        conn.commit()


def test_a_rewritten_log_no_longer_matches_its_checkpoints(ledger_settings) -> None:
    led = isolated_ledger(ledger_settings, "forgery", partitions=1)
    running = start_consumers(led)
    try:
        emit(led, [disclosure(D, i + 1, "Forgery recipient") for i in range(20)])
        caught_up(led)
        wait_until(
            lambda: rows(led, "SELECT max(tree_size) FROM checkpoints")[0][0] == 20,
            what="checkpoint",
        )
        log_id = rows(led, "SELECT DISTINCT log_id FROM entries")[0][0]
        old_note = rows(led, "SELECT note FROM checkpoints WHERE tree_size = 20")[0][0]
        _rewrite_log(led, log_id, 5)
        # The ledger keeps appending and signing on top of the forged tree.
        emit(led, [disclosure(D, 1, "Forgery recipient") for _ in range(5)])
        caught_up(led)
        wait_until(
            lambda: rows(led, "SELECT max(tree_size) FROM checkpoints")[0][0] == 25,
            what="checkpoint",
        )
    finally:
        running.stop()
    with connection(led.reader_url, led.schema) as conn:
        report = verify_all(conn, led.bootstrap, checkpoint_checker(led.settings))
        proof = consistency_proof_json(conn, log_id, 20, 25)
        database_only = verify_all(conn, None, checkpoint_checker(led.settings))
    # The per-log worker processes of `ledger verify` find exactly what one process finds.
    assert (
        verify_ledger(
            led.reader_url, led.schema, led.bootstrap, led.settings, processes=2
        ).to_json()
        == report.to_json()
    )
    # Against Kafka the altered bytes are found at once; from the database alone the forged tree no
    # longer matches the checkpoint signed before the forgery.
    assert (report.findings[0].kind, report.findings[0].seq, report.exit_code) == (
        "kafka_mismatch",
        5,
        13,
    )
    assert database_only.findings[0].kind == "checkpoint_mismatch"
    assert database_only.exit_code == 15
    from ledger.keys import load_verifiers
    from ledger.tlog import checkpoint as tlog

    verifiers = load_verifiers(signing_key_path(led.settings))
    old, new = tlog.verify(old_note, verifiers), tlog.verify(proof["new_checkpoint"], verifiers)
    import base64

    with pytest.raises(ProofError):
        merkle.verify_consistency(
            20, 25, old.root_hash, new.root_hash, [base64.b64decode(h) for h in proof["hashes"]]
        )
