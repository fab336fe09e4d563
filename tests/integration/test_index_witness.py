"""The index log is cosigned by the configured witness as it grows (with consistency proofs),
`verify-accounting --witness-key` requires the cosignature, and the witness refuses a forked
index log. Real Kafka, PostgreSQL and `ledger witness` server."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import pytest

from consumers.service import KAFKA_CONSUMERS, start_consumers
from ledger.keys import load_signers, signing_key_path
from ledger.localdev.ports import free_port, port_open
from ledger.privacy import load_taxpayer_key, taxpayer_key_path, taxpayer_ref
from ledger.runtime import Ledger
from ledger.tlog import checkpoint as tlog
from ledger.tlog.cosignature import Cosigner
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
TIN = "123-45-6789"


@dataclass
class Witnessed:
    led: Ledger
    url: str
    vkey: str
    state: Path


def ledger_cli(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    run = [sys.executable, "-m", "ledger", *argv]
    return subprocess.run(run, env=env, capture_output=True, text=True, check=False, timeout=300)


@pytest.fixture(scope="module")
def witnessed(ledger_settings, tmp_path_factory) -> Iterator[Witnessed]:
    tmp = tmp_path_factory.mktemp("indexwitness")
    witness = Cosigner.generate("witness.test/index")
    (tmp / "w.key").write_text(witness.key_string + "\n")
    (tmp / "w.key").chmod(0o600)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    vkey = witness.verifier.vkey
    led = isolated_ledger(ledger_settings, "idxwit", partitions=1, witnesses=f"{url} {vkey}")
    log_vkey = load_signers(signing_key_path(led.settings))[0].vkey
    state = tmp / "state.json"
    argv = ["witness", "--key", str(tmp / "w.key"), "--listen", f"127.0.0.1:{port}"]
    server = subprocess.Popen(
        [sys.executable, "-m", "ledger", *argv, "--log-key", log_vkey, "--state", str(state)],
        env=cli_env(led),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    running = None
    try:
        wait_until(lambda: port_open(port) or server.poll() is not None, 30, "the witness")
        assert server.poll() is None, server.stderr.read() if server.stderr else ""
        running = start_consumers(led, KAFKA_CONSUMERS)  # the test updates the index itself
        yield Witnessed(led, url, vkey, state)
    finally:
        if running is not None:
            running.stop()
        server.terminate()
        server.wait(10)


def grow(led: Ledger, objs: list[dict[str, object]]) -> None:
    before = rows(led, "SELECT coalesce(max(tree_size), 0) FROM checkpoints")[0][0]
    emit(led, objs)
    caught_up(led)
    wait_until(
        lambda: (
            rows(led, "SELECT coalesce(max(tree_size), 0) FROM checkpoints")[0][0]
            >= before + len(objs)
        ),
        what="a checkpoint of the new entries",
    )


def test_the_witness_cosigns_the_index_log_and_refuses_its_fork(
    witnessed: Witnessed, tmp_path: Path
) -> None:
    led = witnessed.led
    env = {**cli_env(led), "LEDGER_WITNESSES": led.settings.witnesses}
    ref = taxpayer_ref(load_taxpayer_key(taxpayer_key_path(led.settings)), TIN)
    grow(led, [disclosure(D, 1, "ICE", taxpayer_refs=[ref]), disclosure(D, 2, "Other")])
    first = ledger_cli(env, "index", "update")
    assert first.returncode == 0, first.stderr
    assert "1 witness cosignature(s) on the index log" in first.stdout
    grow(led, [disclosure(D, 3, "ICE", taxpayer_refs=[ref])])
    second = ledger_cli(env, "index", "update")  # size 2: from 1 by a consistency proof
    assert second.returncode == 0, second.stderr
    assert "1 witness cosignature(s)" in second.stdout, second.stdout
    sizes = rows(led, "SELECT tree_size FROM taxpayer_index_cosignatures ORDER BY tree_size")
    assert [r[0] for r in sizes] == [1, 2]

    (tmp_path / "tin").write_text(TIN)
    answer = ledger_cli(
        env, "accounting", "--tin-file", str(tmp_path / "tin"), "--json", "--index-proof"
    )
    assert answer.returncode == 0, answer.stderr
    (tmp_path / "a.json").write_text(answer.stdout)
    assert len(json.loads(answer.stdout)["index_proof"]["entries"]) == 2
    vkey = load_signers(signing_key_path(led.settings))[0].vkey
    check = ["verify-accounting", str(tmp_path / "a.json"), "--key", vkey]
    ok = ledger_cli(env, *check, "--witness-key", witnessed.vkey)
    assert ok.returncode == 0, ok.stderr
    other = Cosigner.generate("witness.other/x").verifier.vkey
    two = ["--witness-key", witnessed.vkey, "--witness-key", other, "--min-witnesses", "2"]
    too_few = ledger_cli(env, *check, *two)
    assert too_few.returncode == 40, too_few.stderr

    # Another index log at the size the witness cosigned: refused as a fork.
    origin = f"{led.settings.log_origin}/index"
    latest = WitnessState(witnessed.state).latest(origin)
    assert latest is not None
    known = latest.size
    assert known == 2
    signer = load_signers(signing_key_path(led.settings))[0]
    forged = tlog.Checkpoint(origin, known, hashlib.sha256(b"another index").digest())
    body = AddCheckpoint(known, [], tlog.sign(forged, [signer])).to_bytes()
    refused = httpx.post(f"{witnessed.url}/add-checkpoint", content=body, timeout=10)
    assert refused.status_code == 409, refused.text
    assert "fork" in refused.text
