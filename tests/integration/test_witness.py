"""A witness run as `ledger witness` cosigns a growing real log, refuses forks, and verify-proof
counts its cosignatures."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import pytest

import ledger as ledger_package
from ledger.followers.service import start_consumers
from ledger.keys import load_signers, origin_for, signing_key_path
from ledger.localdev.ports import free_port, port_open
from ledger.ops.proofs import inclusion_proof_json
from ledger.runtime import Ledger
from ledger.store.connection import connection
from ledger.tlog import checkpoint as tlog
from ledger.tlog import merkle
from ledger.tlog.cosignature import CosignatureVerifier, cosignatures_on
from ledger.tlog.note import Signer
from ledger.tlog.witness_protocol import AddCheckpoint
from tests.integration.helpers import (
    caught_up,
    disclosure,
    emit,
    isolated_ledger,
    rows,
    wait_until,
)

pytestmark = pytest.mark.integration
D = date(2025, 8, 7)
LEDGER = shutil.which("ledger") or "ledger"


@dataclass
class Witnessed:
    ledger: Ledger
    url: str
    vkey: str
    log_vkey: str
    state: Path
    log_id: str
    tmp: Path


def checkout_env() -> dict[str, str]:
    """The environment for a `ledger` subprocess running this checkout's code (no ledger needed)."""
    checkout = str(Path(ledger_package.__file__).resolve().parent.parent)
    return {**os.environ, "PYTHONPATH": checkout}


def run_ledger(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LEDGER, *args], capture_output=True, text=True, env=env, check=False)


def cosigned_sizes(led: Ledger) -> list[int]:
    found = rows(led, "SELECT tree_size FROM checkpoint_cosignatures ORDER BY tree_size")
    return [int(r[0]) for r in found]


def checkpoint_size(led: Ledger) -> int:
    return int(rows(led, "SELECT coalesce(max(tree_size), 0) FROM checkpoints")[0][0])


@pytest.fixture(scope="module")
def witnessed(ledger_settings, tmp_path_factory) -> Iterator[Witnessed]:
    tmp = tmp_path_factory.mktemp("witness")
    env = checkout_env()
    made = run_ledger(
        ["witness", "keygen", "--out", str(tmp / "w.key"), "--name", "witness.test/w1"], env
    )
    assert made.returncode == 0, made.stderr
    vkey = made.stdout.strip()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    led = isolated_ledger(ledger_settings, "witness", partitions=1, witnesses=f"{url} {vkey}")
    log_vkey = load_signers(signing_key_path(led.settings))[0].vkey
    state = tmp / "state.json"
    server = subprocess.Popen(
        [
            LEDGER,
            "witness",
            "--key",
            str(tmp / "w.key"),
            "--listen",
            f"127.0.0.1:{port}",
            "--log-key",
            log_vkey,
            "--state",
            str(state),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    running = None
    try:
        wait_until(lambda: port_open(port) or server.poll() is not None, 30, "the witness")
        assert server.poll() is None, server.stderr.read() if server.stderr else ""
        running = start_consumers(led)
        yield Witnessed(led, url, vkey, log_vkey, state, f"{led.topics.disclosures}/0", tmp)
    finally:
        if running is not None:
            running.stop()
        server.terminate()
        server.wait(10)


def test_the_witness_cosigns_a_growing_log(witnessed: Witnessed) -> None:
    led = witnessed.ledger
    emit(led, [disclosure(D, i + 1, "Witnessed recipient") for i in range(10)])
    caught_up(led, ("audit_log",))
    wait_until(lambda: checkpoint_size(led) == 10, what="checkpoint of 10")
    wait_until(lambda: 10 in cosigned_sizes(led), what="a cosignature on size 10")
    emit(led, [disclosure(D, i + 1, "Witnessed recipient") for i in range(15)])
    caught_up(led, ("audit_log",))
    wait_until(lambda: checkpoint_size(led) == 25, what="checkpoint of 25")
    wait_until(lambda: 25 in cosigned_sizes(led), what="a cosignature on size 25")
    # The witness went from 10 to 25 on a consistency proof, and remembers 25.
    state = json.loads(witnessed.state.read_text())
    origin = origin_for(led.settings, witnessed.log_id)
    assert state["logs"][origin]["size"] == 25
    assert state.get("evidence", []) == []
    # The checkpoint the ledger serves carries the cosignature, and it verifies.
    with connection(led.reader_url, led.schema) as conn:
        proof = inclusion_proof_json(
            conn, rows(led, "SELECT event_id::text FROM entries WHERE seq = 3")[0][0], 25
        )
    note = proof["checkpoint"]
    assert [c.name for c in cosignatures_on(note)] == ["witness.test/w1"]
    body = note.split("\n\n")[0] + "\n"
    assert CosignatureVerifier.from_vkey(witnessed.vkey).verify(body, cosignatures_on(note)[0])
    log_key = load_signers(signing_key_path(led.settings))[0].verifier
    assert tlog.verify(note, [log_key]).size == 25


def test_verify_proof_requires_the_witnesses_cosignatures(witnessed: Witnessed) -> None:
    led = witnessed.ledger
    wait_until(lambda: 25 in cosigned_sizes(led), what="a cosignature on size 25")
    event_id = rows(led, "SELECT event_id::text FROM entries WHERE seq = 7")[0][0]
    with connection(led.reader_url, led.schema) as conn:
        proof = inclusion_proof_json(conn, event_id, 25)
    path = witnessed.tmp / "proof.json"
    path.write_text(json.dumps(proof))
    env = checkout_env()
    base = ["verify-proof", str(path), "--key", witnessed.log_vkey]
    ok = run_ledger([*base, "--witness-key", witnessed.vkey, "--min-witnesses", "1"], env)
    assert ok.returncode == 0, ok.stderr
    assert "cosigned by witness.test/w1" in " ".join(ok.stdout.split())
    other = run_ledger(
        ["witness", "keygen", "--out", str(witnessed.tmp / "other.key"), "--name", "w2"], env
    ).stdout.strip()
    two = run_ledger(
        [*base, "--witness-key", witnessed.vkey, "--witness-key", other, "--min-witnesses", "2"],
        env,
    )
    assert two.returncode == 40, two.stderr
    assert "1 valid cosignature" in " ".join(two.stderr.split())
    assert len(two.stderr.strip().splitlines()) == 1
    # Without the cosignature line, the same proof fails with the same exit code.
    body, sigs = proof["checkpoint"].split("\n\n")
    proof["checkpoint"] = (
        body
        + "\n\n"
        + "".join(line + "\n" for line in sigs.splitlines() if "witness.test/w1" not in line)
    )
    path.write_text(json.dumps(proof))
    bare = run_ledger([*base, "--witness-key", witnessed.vkey], env)
    assert bare.returncode == 40, bare.stderr
    assert run_ledger(base, env).returncode == 0  # no witness asked for: the log's word only
    too_many = run_ledger([*base, "--witness-key", witnessed.vkey, "--min-witnesses", "2"], env)
    assert too_many.returncode == 2, too_many.stderr


def post(url: str, body: bytes) -> tuple[int, str]:
    response = httpx.post(f"{url}/add-checkpoint", content=body, timeout=10)
    return response.status_code, response.text


def test_the_witness_refuses_a_forked_log_and_keeps_the_evidence(witnessed: Witnessed) -> None:
    led = witnessed.ledger
    wait_until(lambda: 25 in cosigned_sizes(led), what="a cosignature on size 25")
    signer = load_signers(signing_key_path(led.settings))[0]
    origin = origin_for(led.settings, witnessed.log_id)
    known = json.loads(witnessed.state.read_text())["logs"][origin]["size"]
    # The same size with another root: 409, and not a size (so no client retries from it).
    forged = tlog.Checkpoint(origin, known, hashlib.sha256(b"forged").digest())
    status, text = post(
        witnessed.url, AddCheckpoint(known, [], tlog.sign(forged, [signer])).to_bytes()
    )
    assert status == 409, text
    assert "fork" in text
    # A larger tree whose consistency proof from the witness's size fails: 422.
    fake = [merkle.leaf_hash(str(i).encode()) for i in range(known + 5)]
    grown = tlog.Checkpoint(origin, known + 5, merkle.root_from_leaf_hashes(fake))
    proof = merkle.consistency_proof(fake, known, known + 5)
    status, text = post(
        witnessed.url, AddCheckpoint(known, proof, tlog.sign(grown, [signer])).to_bytes()
    )
    assert status == 422, text
    # A stale old size: 409 with the witness's size as text/x.tlog.size.
    status, text = post(witnessed.url, AddCheckpoint(1, [], tlog.sign(grown, [signer])).to_bytes())
    assert (status, text) == (409, f"{known}\n")
    # A key the witness does not trust: 403; a malformed body: 400.
    stranger = Signer.generate(signer.name)
    status, _ = post(witnessed.url, AddCheckpoint(0, [], tlog.sign(grown, [stranger])).to_bytes())
    assert status == 403
    assert post(witnessed.url, b"old x\n\n")[0] == 400
    # The witness kept both refusals as evidence, and still stands at the size it cosigned.
    state = json.loads(witnessed.state.read_text())
    assert [e["kind"] for e in state["evidence"]] == ["ForkedRoot", "InconsistentProof"]
    assert state["logs"][origin]["size"] >= known
    shown = run_ledger(["witness", "evidence", "--state", str(witnessed.state)], checkout_env())
    assert shown.returncode == 6
    assert "ForkedRoot" in shown.stdout


@pytest.mark.skipif(shutil.which("go") is None, reason="Go is not installed")
def test_go_sumdb_note_opens_a_cosigned_checkpoint(witnessed: Witnessed) -> None:
    led = witnessed.ledger
    wait_until(lambda: 25 in cosigned_sizes(led), what="a cosignature on size 25")
    with connection(led.reader_url, led.schema) as conn:
        event_id = rows(led, "SELECT event_id::text FROM entries WHERE seq = 0")[0][0]
        note = inclusion_proof_json(conn, event_id, 25)["checkpoint"]
    assert cosignatures_on(note)
    path = witnessed.tmp / "cosigned.note"
    path.write_text(note)
    program = Path(__file__).resolve().parent.parent / "assets" / "notecheck"
    opened = subprocess.run(
        ["go", "run", ".", str(path), witnessed.log_vkey],
        cwd=program,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert opened.returncode == 0, opened.stderr
    result = json.loads(opened.stdout)
    assert result["verified"] == [witnessed.log_vkey.split("+")[0]]
    assert result["unverified"] == 1  # the witness's line: kept, not verified, not an error
    assert result["text"] == note.split("\n\n")[0] + "\n"


def test_bad_witness_arguments_get_one_line_and_exit_2(tmp_path: Path) -> None:
    env = checkout_env()
    key = tmp_path / "w.key"
    assert run_ledger(["witness", "keygen", "--out", str(key)], env).returncode == 0
    vkey = Signer.generate("log").vkey
    for args in (
        ["witness", "--log-key", vkey],  # no key
        ["witness", "--key", str(key)],  # no log key
        ["witness", "--key", str(key), "--log-key", vkey, "--listen", "nowhere"],
        ["witness", "--key", str(tmp_path / "missing.key"), "--log-key", vkey],
        ["witness", "keygen", "--out", str(key)],  # never overwrites a key
    ):
        bad = run_ledger(args, env)
        assert bad.returncode == 2, (args, bad.stderr)
        assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr
