"""Files and bodies the ledger did not write are read safely (issue 23, hardening): a FIFO or a
symlink is refused at once, deep JSON is a named exit code on the command line and a 4xx from the
API, never a hang, a read outside what was named, or a RecursionError.

Each command runs as the installed `ledger` subprocess, with a timeout, so a read that would block
for ever fails the test instead of hanging it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from ledger.runtime import Ledger
from ledger.tlog.note import Signer
from tests.fixtures_scenario import ApiServer
from tests.integration.helpers import cli_env, isolated_ledger

pytestmark = pytest.mark.integration
DEEP = "[" * 8000 + "]" * 8000  # 16,000 bytes: under the API's 16 KiB body cap


@pytest.fixture(scope="module")
def led(ledger_settings) -> Ledger:
    return isolated_ledger(ledger_settings, "files")


def ledger_cli(led: Ledger, *args: str, env: dict[str, str] | None = None):
    return subprocess.run(
        [shutil.which("ledger") or "ledger", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**cli_env(led), **(env or {})},
        timeout=60,
    )


def _one_line(done: subprocess.CompletedProcess[str]) -> None:
    assert done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "RecursionError" not in done.stderr


def test_deep_json_in_a_proof_file_gives_named_exit_code(led: Ledger, tmp_path: Path) -> None:
    proof = tmp_path / "proof.json"
    proof.write_text(DEEP)
    done = ledger_cli(led, "verify-proof", str(proof), "--key", Signer.generate("k").vkey)
    assert done.returncode == 51, (done.returncode, done.stderr)
    assert "deeper than" in done.stderr
    _one_line(done)


def test_a_fifo_as_a_proof_file_is_refused_at_once(led: Ledger, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "proof.json")
    done = ledger_cli(
        led, "verify-proof", str(tmp_path / "proof.json"), "--key", Signer.generate("k").vkey
    )
    assert done.returncode == 50, (done.returncode, done.stderr)
    assert "FIFO" in done.stderr
    _one_line(done)


def test_a_symlinked_proof_file_is_refused(led: Ledger, tmp_path: Path) -> None:
    (tmp_path / "real.json").write_text(json.dumps({"leaf_index": 0}))
    (tmp_path / "proof.json").symlink_to(tmp_path / "real.json")
    done = ledger_cli(
        led, "verify-proof", str(tmp_path / "proof.json"), "--key", Signer.generate("k").vkey
    )
    assert done.returncode == 50, (done.returncode, done.stderr)
    assert "symbolic link" in done.stderr
    _one_line(done)


def test_a_fifo_as_since_checkpoint_is_refused_at_once(led: Ledger, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "cp.note")
    out = tmp_path / "out"
    done = ledger_cli(
        led, "export", "--out", str(out), "--since-checkpoint", str(tmp_path / "cp.note")
    )
    assert done.returncode == 50, (done.returncode, done.stderr)
    assert not out.exists()
    _one_line(done)


def test_a_fifo_as_the_rules_file_is_refused_at_once(led: Ledger, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "rules.toml")
    done = ledger_cli(
        led,
        "export",
        "--out",
        str(tmp_path / "out"),
        env={"LEDGER_REGISTRY_FILE": str(tmp_path / "rules.toml")},
    )
    assert done.returncode == 2, (done.returncode, done.stderr)  # a configuration error
    assert "regular file" in done.stderr, done.stderr
    _one_line(done)


def test_a_symlink_as_emit_file_is_refused(led: Ledger, tmp_path: Path) -> None:
    (tmp_path / "events.jsonl").write_text("\n")
    (tmp_path / "link.jsonl").symlink_to(tmp_path / "events.jsonl")
    done = ledger_cli(led, "emit", "--file", str(tmp_path / "link.jsonl"))
    assert done.returncode == 50, (done.returncode, done.stderr)
    _one_line(done)


def test_deep_json_api_body_is_a_4xx(api_server: ApiServer) -> None:
    r = httpx.post(
        api_server.url + "/api/accounting",
        content=DEEP.encode(),
        headers={
            "authorization": f"Bearer {api_server.tokens['auditor']}",
            "content-type": "application/json",
        },
        timeout=30,
    )
    assert r.status_code == 422, r.text
    assert "body" in r.json()["error"]
