"""`ledger proof inclusion` writes a C2SP tlog-proof@v1 that torchwood's VerifyProof accepts
and `ledger verify-proof` reads, from the real ledger (Kafka and PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from consumers.service import start_consumers
from ledger.api import create_app
from ledger.keys import load_signers, signing_key_path
from ledger.runtime import Ledger
from ledger.store.connection import connection
from ledger.store.tokens import create_token
from ledger.tlog.offline import check_proof_file
from ledger.tlog.tlog_proof import TlogProofError
from tests.fixtures_scenario import served
from tests.integration.helpers import (
    caught_up,
    cli_env,
    disclosure,
    emit,
    isolated_ledger,
    rows,
    wait_until,
)
from tests.integration.torchwood_go import build

pytestmark = pytest.mark.integration
D = date(2025, 8, 7)
N = 12
WITH_REFS = 3  # the entry whose message carries a taxpayer ref


@pytest.fixture(scope="module")
def ledger(ledger_settings) -> Iterator[Ledger]:
    led = isolated_ledger(ledger_settings, "tlogproof", partitions=1)
    running = start_consumers(led)
    try:
        objs = [disclosure(D, i + 1, "Proof recipient") for i in range(N)]
        objs[WITH_REFS]["taxpayer_refs"] = [hashlib.sha256(b"a ref").hexdigest()]
        emit(led, objs)
        caught_up(led)
        wait_until(
            lambda: rows(led, "SELECT max(tree_size) FROM checkpoints")[0][0] == N,
            what=f"checkpoint of {N}",
        )
        yield led
    finally:
        running.stop()


def ledger_cli(led: Ledger, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger", *argv],
        env=cli_env(led),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_torchwood_verifyproof_accepts_a_tlog_proof_from_the_ledger(
    ledger: Ledger, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    event_id, value = rows(ledger, "SELECT event_id::text, value FROM entries WHERE seq = 5")[0]
    record_hash = hashlib.sha256(b"\x00" + bytes(value)).hexdigest()
    vkey = load_signers(signing_key_path(ledger.settings))[0].vkey
    path = tmp_path / "entry.tlog-proof"
    made = ledger_cli(ledger, "proof", "inclusion", "--event-id", event_id, "--out", str(path))
    assert made.returncode == 0, made.stderr
    text = path.read_text()
    assert text.startswith("c2sp.org/tlog-proof@v1\nextra ")
    assert "\nindex 5\n" in text
    origin = text.split("\n\n", 1)[1].split("\n", 1)[0]
    as_json = ledger_cli(ledger, "proof", "inclusion", "--event-id", event_id)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["leaf_index"] == 5
    (tmp_path / "entry.json").write_text(as_json.stdout)
    for name in ("entry.tlog-proof", "entry.json"):
        ours = ledger_cli(ledger, "verify-proof", str(tmp_path / name), "--key", vkey)
        assert ours.returncode == 0, ours.stderr
        assert "inclusion proof" in ours.stdout

    program = build(tmp_path_factory.mktemp("go"))
    run = [str(program), "tlogproof", str(path), record_hash, origin, vkey]
    go = subprocess.run(run, capture_output=True, text=True, check=False, timeout=300)
    assert go.returncode == 0, go.stderr

    lines = text.split("\n")
    lines[3] = ("B" if lines[3][0] == "A" else "A") + lines[3][1:]  # first proof hash
    path.write_text("\n".join(lines))
    go = subprocess.run(run, capture_output=True, text=True, check=False, timeout=300)
    assert go.returncode == 1
    ours = ledger_cli(ledger, "verify-proof", str(path), "--key", vkey)
    assert ours.returncode == 6, ours.stderr
    assert ours.stderr.startswith("error:")
    assert "Traceback" not in ours.stderr


def test_the_api_serves_tlog_proofs_with_the_bytes_only_where_the_role_sees_them(
    ledger: Ledger, tmp_path: Path
) -> None:
    event_id, value = rows(
        ledger, "SELECT event_id::text, value FROM entries WHERE seq = %s", (WITH_REFS,)
    )[0]
    vkeys = [s.vkey for s in load_signers(signing_key_path(ledger.settings))]
    with connection(ledger.admin_url, ledger.schema) as conn:
        tokens = {role: create_token(conn, role, f"t-{role}") for role in ("overseer", "auditor")}
    with served(create_app(ledger.reader_only())) as url:

        def get(role: str, fmt: str) -> httpx.Response:
            auth = {"authorization": f"Bearer {tokens[role]}"}
            path = f"{url}/api/entries/{event_id}/proof?format={fmt}"
            return httpx.get(path, headers=auth, timeout=60)

        auditor, overseer = get("auditor", "tlog-proof"), get("overseer", "tlog-proof")
        bogus = get("auditor", "xml")
    assert auditor.status_code == overseer.status_code == 200, overseer.text
    assert bogus.status_code == 422
    assert auditor.headers["content-disposition"].endswith('.tlog-proof"')
    assert auditor.text.split("\n")[1].startswith("extra ")
    assert overseer.text.split("\n")[1] == f"index {WITH_REFS}"  # the bytes are withheld
    (tmp_path / "a.tlog-proof").write_text(auditor.text)
    (tmp_path / "o.tlog-proof").write_text(overseer.text)
    assert check_proof_file(tmp_path / "a.tlog-proof", vkeys).kind == "inclusion"
    with pytest.raises(TlogProofError, match="--entry"):
        check_proof_file(tmp_path / "o.tlog-proof", vkeys)
    assert (
        check_proof_file(tmp_path / "o.tlog-proof", vkeys, entry=bytes(value)).kind == "inclusion"
    )


def test_a_bundles_entry_is_a_tlog_proof_offline(
    ledger: Ledger, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`ledger proof inclusion --bundle` makes the tlog-proof of a bundle's entry from the
    bundle's files alone; ours and torchwood's VerifyProof accept it, and an entry the bundle
    does not hold is refused in one line."""
    bundle = tmp_path / "bundle"
    made = ledger_cli(ledger, "export", "--out", str(bundle), "--since", str(D), "--until", str(D))
    assert made.returncode == 0, made.stderr
    event_id, value = rows(ledger, "SELECT event_id::text, value FROM entries WHERE seq = 7")[0]
    path = tmp_path / "from-bundle.tlog-proof"
    extracted = ledger_cli(
        ledger,
        "proof",
        "inclusion",
        "--event-id",
        event_id,
        "--bundle",
        str(bundle),
        "--out",
        str(path),
    )
    assert extracted.returncode == 0, extracted.stderr
    text = path.read_text()
    assert "\nindex 7\n" in text
    vkey = load_signers(signing_key_path(ledger.settings))[0].vkey
    ours = ledger_cli(ledger, "verify-proof", str(path), "--key", vkey)
    assert ours.returncode == 0, ours.stderr
    origin = text.split("\n\n", 1)[1].split("\n", 1)[0]
    record_hash = hashlib.sha256(b"\x00" + bytes(value)).hexdigest()
    program = build(tmp_path_factory.mktemp("go"))
    run = [str(program), "tlogproof", str(path), record_hash, origin, vkey]
    go = subprocess.run(run, capture_output=True, text=True, check=False, timeout=300)
    assert go.returncode == 0, go.stderr
    missing = ledger_cli(
        ledger,
        "proof",
        "inclusion",
        "--event-id",
        "00000000-0000-4000-8000-000000000000",
        "--bundle",
        str(bundle),
    )
    assert missing.returncode != 0
    assert len(missing.stderr.strip().splitlines()) == 1, missing.stderr
    assert "no entry with event id" in missing.stderr
