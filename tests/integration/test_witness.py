"""A witness run as `ledger witness` cosigns a growing real log, refuses forks, and verify-proof
counts its cosignatures."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import pytest

import ledger as ledger_package
from consumers.service import start_consumers
from ledger.keys import load_signers, origin_for, signing_key_path
from ledger.localdev.ports import free_port, port_open
from ledger.ops.proofs import inclusion_proof_json
from ledger.runtime import Ledger
from ledger.store.connection import connection
from ledger.tlog import checkpoint as tlog
from ledger.tlog import merkle
from ledger.tlog.cosignature import Cosignature, CosignatureVerifier, cosignatures_on
from ledger.tlog.note import Signer
from ledger.tlog.witness_protocol import AddCheckpoint
from ledger.witness.state import WitnessState
from tests.integration.helpers import (
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
    state = WitnessState(witnessed.state)
    origin = origin_for(led.settings, witnessed.log_id)
    assert state.latest(origin).size == 25  # type: ignore[union-attr]
    assert state.evidence() == []
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
    # `ledger checkpoint` prints the served note too: the log's signature, then the witness's.
    printed = run_ledger(["checkpoint", "--log", witnessed.log_id], cli_env(led))
    assert printed.returncode == 0, printed.stderr
    assert [c.name for c in cosignatures_on(printed.stdout)] == ["witness.test/w1"]
    assert tlog.verify(printed.stdout, [log_key]).size == checkpoint_size(led)


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


def test_verify_bundle_requires_the_witnesses_cosignatures(witnessed: Witnessed) -> None:
    led = witnessed.ledger
    wait_until(
        lambda: checkpoint_size(led) in cosigned_sizes(led), what="the latest checkpoint cosigned"
    )
    bundle = witnessed.tmp / "bundle"
    made = run_ledger(["export", "--out", str(bundle)], {**checkout_env(), **cli_env(led)})
    assert made.returncode == 0, made.stderr
    base = ["verify-bundle", str(bundle), "--key", witnessed.log_vkey]
    env = checkout_env()
    ok = run_ledger([*base, "--witness-key", witnessed.vkey], env)
    assert ok.returncode == 0, ok.stderr
    other = run_ledger(
        ["witness", "keygen", "--out", str(witnessed.tmp / "third.key"), "--name", "w3"], env
    ).stdout.strip()
    unwitnessed = run_ledger([*base, "--witness-key", other], env)
    assert unwitnessed.returncode == 40, unwitnessed.stderr
    assert "checkpoint" in unwitnessed.stderr
    assert len(unwitnessed.stderr.strip().splitlines()) == 1
    assert run_ledger([*base, "--witness-key", "not-a-key"], env).returncode == 2


def post(url: str, body: bytes) -> tuple[int, str]:
    response = httpx.post(f"{url}/add-checkpoint", content=body, timeout=10)
    return response.status_code, response.text


def witness_evidence(state: Path) -> tuple[int, str]:
    shown = run_ledger(["witness", "evidence", "--state", str(state)], checkout_env())
    return shown.returncode, shown.stdout


def padded(note: str, size: int = 60_000) -> str:
    """The note with junk signature lines from no known key (ignored when verifying) up to
    ``size`` bytes: what anyone holding a public checkpoint can send."""
    junk = "\u2014 junk " + base64.b64encode(bytes(68)).decode() + "\n"
    return note + junk * ((size - len(note)) // len(junk.encode()))


def test_bad_consistency_proof_is_4xx_not_fork_evidence(witnessed: Witnessed) -> None:
    """A failing proof shows only that the proof is wrong, not that the log forked: two
    checkpoints of different sizes are never by themselves inconsistent."""
    led = witnessed.ledger
    wait_until(lambda: 25 in cosigned_sizes(led), what="a cosignature on size 25")
    signer = load_signers(signing_key_path(led.settings))[0]
    origin = origin_for(led.settings, witnessed.log_id)
    known = WitnessState(witnessed.state).latest(origin)
    assert known is not None
    before = witness_evidence(witnessed.state)
    fake = [merkle.leaf_hash(str(i).encode()) for i in range(known.size + 5)]
    grown = tlog.Checkpoint(origin, known.size + 5, merkle.root_from_leaf_hashes(fake))
    proof = merkle.consistency_proof(fake, known.size, known.size + 5)
    for body in (
        AddCheckpoint(known.size, proof, tlog.sign(grown, [signer])).to_bytes(),
        AddCheckpoint(known.size, [bytes(32)], tlog.sign(grown, [signer])).to_bytes(),
    ):
        status, text = post(witnessed.url, body)
        assert status == 422, text
    assert witness_evidence(witnessed.state) == before
    assert WitnessState(witnessed.state).latest(origin) == known


def test_witness_state_is_bounded(witnessed: Witnessed) -> None:
    """Requests anyone can make (a public checkpoint, padded, resent; or with a bad proof) leave
    the state file small: only what the log's key signed is kept, and no proof."""
    led = witnessed.ledger
    wait_until(lambda: 25 in cosigned_sizes(led), what="a cosignature on size 25")
    origin = origin_for(led.settings, witnessed.log_id)
    state = WitnessState(witnessed.state)
    known, note = state.latest(origin), state.latest_note(origin)
    assert known is not None
    assert note is not None
    grown = tlog.Checkpoint(origin, known.size + 1, hashlib.sha256(b"x").digest())
    signer = load_signers(signing_key_path(led.settings))[0]
    bad = padded(tlog.sign(grown, [signer]))
    for _ in range(100):
        status, text = post(witnessed.url, AddCheckpoint(known.size, [bytes(32)], bad).to_bytes())
        assert status == 422, text
        status, text = post(witnessed.url, AddCheckpoint(known.size, [], padded(note)).to_bytes())
        assert status == 200, text
    assert witnessed.state.stat().st_size < 128 * 1024
    assert WitnessState(witnessed.state).latest(origin) == known


def test_the_witness_refuses_a_forked_log_and_keeps_the_evidence(witnessed: Witnessed) -> None:
    led = witnessed.ledger
    wait_until(lambda: 25 in cosigned_sizes(led), what="a cosignature on size 25")
    signer = load_signers(signing_key_path(led.settings))[0]
    origin = origin_for(led.settings, witnessed.log_id)
    latest = WitnessState(witnessed.state).latest(origin)
    assert latest is not None
    known = latest.size
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
    # The witness kept the fork (two signed checkpoints, one size, two roots) as evidence, not
    # the failed proof, and still stands at the size it cosigned.
    kept = WitnessState(witnessed.state)
    assert [e["kind"] for e in kept.evidence()] == ["ForkedRoot"]
    assert kept.latest(origin).size >= known  # type: ignore[union-attr]
    shown = run_ledger(["witness", "evidence", "--state", str(witnessed.state)], checkout_env())
    assert shown.returncode == 6
    assert "ForkedRoot" in shown.stdout


@pytest.mark.skipif(shutil.which("go") is None, reason="Go is not installed")
def test_go_tools_verify_the_log_signature_and_the_cosignature(witnessed: Witnessed) -> None:
    """golang.org/x/mod/sumdb/note opens the cosigned checkpoint with the log's key alone (the
    witness line kept, unverified); with filippo.io/torchwood's cosignature/v1 verifier it
    verifies the witness's cosignature too."""
    led = witnessed.ledger
    wait_until(lambda: 25 in cosigned_sizes(led), what="a cosignature on size 25")
    with connection(led.reader_url, led.schema) as conn:
        event_id = rows(led, "SELECT event_id::text FROM entries WHERE seq = 0")[0][0]
        note = inclusion_proof_json(conn, event_id, 25)["checkpoint"]
    assert cosignatures_on(note)
    path = witnessed.tmp / "cosigned.note"
    path.write_text(note)
    program = Path(__file__).resolve().parent.parent / "assets" / "notecheck"
    fetched = subprocess.run(
        ["go", "mod", "download"], cwd=program, capture_output=True, check=False, timeout=300
    )
    if fetched.returncode != 0:
        pytest.skip("the Go modules (golang.org/x/mod, filippo.io/torchwood) cannot be fetched")

    def go_open(*vkeys: str) -> dict:
        opened = subprocess.run(
            ["go", "run", ".", str(path), *vkeys],
            cwd=program,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert opened.returncode == 0, opened.stderr
        return json.loads(opened.stdout)

    log_name = witnessed.log_vkey.split("+")[0]
    alone = go_open(witnessed.log_vkey)
    assert alone["verified"] == [log_name]
    assert alone["unverified"] == 1  # the witness's line: kept, not an error
    assert alone["text"] == note.split("\n\n")[0] + "\n"
    both = go_open(witnessed.log_vkey, witnessed.vkey)
    assert sorted(both["verified"]) == sorted([log_name, "witness.test/w1"])
    assert both["unverified"] == 0
    # A cosignature moved to another time no longer verifies in Go either.
    line = cosignatures_on(note)[0]
    moved = Cosignature(line.name, line.key_id, line.timestamp + 1, line.signature)
    path.write_text(note.replace(line.line, moved.line))
    refused = subprocess.run(
        ["go", "run", ".", str(path), witnessed.log_vkey, witnessed.vkey],
        cwd=program,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert refused.returncode == 1, refused.stdout


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
        ["witness", "--key", str(key), *["--log-key", vkey] * 17],  # at most 16 keys
        ["witness", "--key", str(key), "--log-key", vkey, "--max-connections", "0"],
        ["witness", "--key", str(key), "--log-key", "not-a-vkey"],
    ):
        bad = run_ledger(args, env)
        assert bad.returncode == 2, (args, bad.stderr)
        assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr


def test_a_witness_that_is_down_blocks_nothing_and_is_asked_again(
    ledger_settings, tmp_path: Path
) -> None:
    env = checkout_env()
    key = tmp_path / "w.key"
    made = run_ledger(["witness", "keygen", "--out", str(key), "--name", "late.witness"], env)
    port = free_port()
    led = isolated_ledger(
        ledger_settings,
        "late_witness",
        partitions=1,
        witnesses=f"http://127.0.0.1:{port} {made.stdout.strip()}",
    )
    running = start_consumers(led, only=["audit_log"])
    server = None
    try:
        emit(led, [disclosure(D, i + 1, "Late witness") for i in range(8)])
        caught_up(led, ("audit_log",))
        wait_until(lambda: checkpoint_size(led) == 8, what="checkpoint of 8 with the witness down")
        assert cosigned_sizes(led) == []
        log_vkey = load_signers(signing_key_path(led.settings))[0].vkey
        server = subprocess.Popen(
            [
                LEDGER,
                "witness",
                "--key",
                str(key),
                "--listen",
                f"127.0.0.1:{port}",
                "--log-key",
                log_vkey,
                "--state",
                str(tmp_path / "state.json"),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: 8 in cosigned_sizes(led), what="the cosignature once the witness is up")
    finally:
        running.stop()
        if server is not None:
            server.terminate()
            server.wait(10)


@pytest.fixture
def lone_witness(tmp_path: Path) -> Iterator[int]:
    """A `ledger witness` on its own (no ledger needed to hold sockets open): its port."""
    env = checkout_env()
    key = tmp_path / "w.key"
    assert run_ledger(["witness", "keygen", "--out", str(key)], env).returncode == 0
    port = free_port()
    args = ["witness", "--key", str(key), "--listen", f"127.0.0.1:{port}"]
    server = subprocess.Popen(
        [LEDGER, *args, "--log-key", Signer.generate("log").vkey, "--state", str(tmp_path / "s")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: port_open(port) or server.poll() is not None, 30, "the witness")
        assert server.poll() is None
        yield port
    finally:
        server.terminate()
        server.wait(10)


def test_witness_socket_timeout(lone_witness: int) -> None:
    """A client that opens a connection and stops mid-request is cut off, not waited on."""
    with socket.create_connection(("127.0.0.1", lone_witness), timeout=60) as sock:
        sock.sendall(b"POST /add-checkpoint HTTP/1.1\r\nContent-Length: 100\r\n\r\nold 1\n")
        started = time.monotonic()
        closed = False
        try:
            while not closed:
                closed = sock.recv(4096) == b""  # an answer (408) may come first
        except TimeoutError:
            pass
        assert closed, "the witness held a stalled connection open for 60 s"
        assert time.monotonic() - started < 45
    # Nor does a byte every few seconds (under any per-read timeout) keep a connection forever.
    with socket.create_connection(("127.0.0.1", lone_witness), timeout=60) as sock:
        started = time.monotonic()
        sock.sendall(b"POST /add-checkpoint HTTP/1.1\r\n")
        try:
            while time.monotonic() - started < 90:
                sock.sendall(b"X-Trickle: 1\r\n")
                time.sleep(3)
        except OSError:
            pass  # cut off: the write fails once the witness has shut the connection
        assert time.monotonic() - started < 60, "a trickling client kept its connection 90 s"


def test_witness_connection_cap(lone_witness: int) -> None:
    """Past its cap (64 by default) a witness answers 503 at once instead of starting one more
    thread per connection, and it listens with a real backlog (not socketserver's 5)."""
    held = [socket.create_connection(("127.0.0.1", lone_witness), timeout=30) for _ in range(64)]
    try:
        time.sleep(1)  # the witness accepts them all and waits for their requests
        with socket.create_connection(("127.0.0.1", lone_witness), timeout=5) as extra:
            try:
                answer = extra.recv(4096)
            except TimeoutError:
                answer = b"(nothing within 5 s)"
        assert answer.startswith(b"HTTP/1.1 503"), answer
    finally:
        for sock in held:
            sock.close()
    # The held connections are gone, so the next request is served.
    wait_until(
        lambda: httpx.get(f"http://127.0.0.1:{lone_witness}/add-checkpoint").status_code == 405,
        30,
        "the witness serving again",
    )
    listening = subprocess.run(
        ["ss", "-ltnH", f"sport = :{lone_witness}"], capture_output=True, text=True, check=False
    )
    if listening.returncode == 0 and listening.stdout.split():
        assert int(listening.stdout.split()[2]) >= 64, listening.stdout  # Send-Q: the backlog
