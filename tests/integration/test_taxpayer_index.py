"""The taxpayer index on the real ledger: a taxpayer in a DisclosureRecorded and one in a
manifest chunk get presence proofs listing exactly their entries, a never-disclosed TIN an
absence proof, a withdrawal shows in the next snapshot, a restart computes the same index, and
the rebuild from the log catches rows changed behind the triggers."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from consumers.service import KAFKA_CONSUMERS, start_consumers
from ledger.api import create_app
from ledger.errors import VerificationError
from ledger.keys import load_signers, signing_key_path
from ledger.ops.taxpayer_index import (
    IndexUnavailableError,
    index_answer,
    indexer_for,
    update_index,
    verify_index,
)
from ledger.privacy import load_taxpayer_key, taxpayer_key_path, taxpayer_ref
from ledger.runtime import Ledger
from ledger.store.connection import connection
from ledger.store.tokens import create_token
from ledger.tlog import mpt
from ledger.tlog.accounting_check import check_index_proof
from ledger.tlog.note import Verifier
from ledger.tlog.offline import check_inclusion
from ledger.tlog.taxpayer_index import Position, check_answer
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

pytestmark = pytest.mark.integration
D = date(2025, 8, 7)
TIN_A, TIN_B, TIN_C, NEVER = "111-11-1111", "222-22-2222", "333-33-3333", "999-99-9999"


def checkpointed(led: Ledger, size: int) -> None:
    wait_until(
        lambda: rows(led, "SELECT coalesce(max(tree_size), 0) FROM checkpoints")[0][0] >= size,
        what=f"checkpoint of {size}",
    )


@pytest.fixture(scope="module")
def led(ledger_settings) -> Iterator[Ledger]:
    led = isolated_ledger(ledger_settings, "taxindex", partitions=1)
    key = load_taxpayer_key(taxpayer_key_path(led.settings))
    a, b, c = (taxpayer_ref(key, t) for t in (TIN_A, TIN_B, TIN_C))
    objs = [disclosure(D, 1, "ICE", taxpayer_refs=[a]), disclosure(D, 2, "ICE")]
    objs[1]["disclosure_id"] = "D-bulk"
    objs.append(
        {"type": "DisclosureManifest", "disclosure_id": "D-bulk", "recipient_agency": "ICE",
         "chunk_index": 0, "chunk_count": 1, "taxpayer_refs": [b, c]}
    )  # fmt: skip
    objs += [disclosure(D, 3, "Other recipient") for _ in range(5)]
    running = start_consumers(led, KAFKA_CONSUMERS)  # the test updates the index itself
    try:
        emit(led, objs)
        caught_up(led)
        checkpointed(led, len(objs))
        yield led
    finally:
        running.stop()


def answer(led: Ledger, tin: str) -> tuple[dict, bytes, str]:
    key = load_taxpayer_key(taxpayer_key_path(led.settings))
    ref = taxpayer_ref(key, tin)
    with connection(led.reader_url, led.schema) as conn:
        found = index_answer(conn, indexer_for(led), ref)
    return found, key, ref


def check(found: dict, key: bytes, ref: str) -> list[Position]:
    positions = [Position(e["log"], e["index"]) for e in found["entries"]]
    value = None if found["value"] is None else bytes.fromhex(found["value"])
    snap, k, proof = (bytes.fromhex(found[n]) for n in ("snapshot", "key", "proof"))
    check_answer(snap, k, value, proof, positions, key, ref)
    return positions


def test_presence_absence_withdrawal_restart_and_rebuild(
    led: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("consumers.taxpayer_index.PAGE", 2)  # entries read in pages
    first = update_index(led)
    assert first is not None
    assert first.seq == 0
    log_id = rows(led, "SELECT DISTINCT log_id FROM entries")[0][0]
    vkeys = [Verifier.from_vkey(s.vkey) for s in load_signers(signing_key_path(led.settings))]

    found, key, ref = answer(led, TIN_A)
    assert found["snapshot"] == first.snapshot.hex()
    assert check(found, key, ref) == [Position(log_id, 0)]
    for entry in found["entries"]:
        check_inclusion(entry["proof"], vkeys)
    for tin in (TIN_B, TIN_C):
        found, key, ref = answer(led, tin)
        assert check(found, key, ref) == [Position(log_id, 2)]  # the manifest chunk
    found, key, ref = answer(led, NEVER)
    assert found["value"] is None
    assert found["entries"] == []
    check(found, key, ref)
    # Another taxpayer's answer does not pass as this one's.
    other, _, _ = answer(led, TIN_A)
    with pytest.raises(mpt.VerificationError):
        check(other, key, ref)

    assert update_index(led) is None  # no checkpoint moved
    emit(
        led,
        [{"type": "DisclosureAmended", "disclosure_id": "D-bulk", "recipient_agency": "ICE",
          "changes": {"withdrawn": "true"}, "reason": "sent in error"}],
    )  # fmt: skip
    caught_up(led)
    checkpointed(led, 9)
    second = update_index(led)
    assert second is not None
    assert second.seq == 1
    assert second.snapshot != first.snapshot
    found, key, ref = answer(led, TIN_B)
    assert check(found, key, ref) == [Position(log_id, 2), Position(log_id, 8)]
    found, key, ref = answer(led, TIN_A)
    assert check(found, key, ref) == [Position(log_id, 0)]  # untouched by the amendment

    restarted = indexer_for(led)  # a new process: loads the rows, same tree
    with connection(led.reader_url, led.schema) as conn:
        restarted.load(conn)
    assert restarted.tree.snapshot() == second.snapshot
    assert verify_index(led) is None


def ledger_cli(led: Ledger, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger", *argv],
        env=cli_env(led),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_verify_accounting_passes_each_answer_and_names_each_tampering(
    led: Ledger, tmp_path: Path
) -> None:
    made = ledger_cli(led, "index", "update")
    assert made.returncode == 0, made.stderr
    vkey = load_signers(signing_key_path(led.settings))[0].vkey
    key_file = str(taxpayer_key_path(led.settings))
    answers = {}
    for tin in (TIN_A, TIN_B, NEVER):
        (tmp_path / "tin").write_text(tin)
        out = ledger_cli(
            led, "accounting", "--tin-file", str(tmp_path / "tin"), "--json", "--index-proof"
        )
        assert out.returncode == 0, out.stderr
        answers[tin] = json.loads(out.stdout)
        path = tmp_path / f"{tin}.json"
        path.write_text(out.stdout)
        ok = ledger_cli(
            led, "verify-accounting", str(path), "--key", vkey,
            "--taxpayer-key", key_file, "--tin-file", str(tmp_path / "tin"),
        )  # fmt: skip
        assert ok.returncode == 0, (tin, ok.stderr)
        assert ("absence" in ok.stdout) == (tin == NEVER), ok.stdout
    assert len(answers[TIN_A]["disclosures"]) == 1
    assert len(answers[TIN_A]["index_proof"]["entries"]) == 1
    assert answers[TIN_A]["index_proof"]["entries"][0]["tlog_proof"].startswith(
        "c2sp.org/tlog-proof@v1\n"
    )

    def refused(answer: dict, tin: str, named: str) -> None:
        (tmp_path / "tin").write_text(tin)
        (tmp_path / "bad.json").write_text(json.dumps(answer))
        bad = ledger_cli(
            led, "verify-accounting", str(tmp_path / "bad.json"), "--key", vkey,
            "--taxpayer-key", key_file, "--tin-file", str(tmp_path / "tin"),
        )  # fmt: skip
        assert bad.returncode == 6, (named, bad.stderr)
        assert bad.stderr.startswith("error:"), bad.stderr
        assert "Traceback" not in bad.stderr
        assert named in bad.stderr, (named, bad.stderr)

    def flip_hex(text: str, at: int) -> str:
        return text[:at] + ("1" if text[at] == "0" else "0") + text[at + 1 :]

    base = answers[TIN_B]["index_proof"]
    cases = {
        "MPT proof": {**base, "proof": flip_hex(base["proof"], 10)},
        "snapshot": {**base, "snapshot": flip_hex(base["snapshot"], 0)},
        "index log's checkpoint": {
            **base,
            "index_log": {
                **base["index_log"],
                "checkpoint": base["index_log"]["checkpoint"].replace("\n", "\n ", 1),
            },
        },
        "listed entries": {**base, "entries": base["entries"][:1]},
        "tlog-proof": {
            **base,
            "entries": [
                {**base["entries"][0], "tlog_proof": base["entries"][1]["tlog_proof"]},
                base["entries"][1],
            ],
        },
    }
    for named, proof in cases.items():
        refused({"index_proof": proof}, TIN_B, named)
    refused(answers[TIN_B], TIN_A, "another")  # B's answer offered as A's
    absent = answers[NEVER]["index_proof"]
    refused({"index_proof": {**absent, "proof": flip_hex(absent["proof"], 70)}}, NEVER, "MPT")


def test_the_api_answers_with_an_index_proof_that_verifies(led: Ledger) -> None:
    update_index(led)
    key = load_taxpayer_key(taxpayer_key_path(led.settings))
    verifiers = [Verifier.from_vkey(s.vkey) for s in load_signers(signing_key_path(led.settings))]
    with connection(led.admin_url, led.schema) as conn:
        token = create_token(conn, "auditor", "t-index")
    auth = {"authorization": f"Bearer {token}"}
    with served(create_app(led.reader_only())) as url:
        plain = httpx.post(f"{url}/api/accounting", json={"tin": TIN_B}, headers=auth, timeout=60)
        proven = httpx.post(
            f"{url}/api/accounting",
            json={"tin": TIN_B, "index_proof": True},
            headers=auth,
            timeout=120,
        )
    assert plain.status_code == proven.status_code == 200, proven.text
    assert plain.json()["index_proof"] is None
    answer = proven.json()
    assert answer["disclosures"] == plain.json()["disclosures"]
    ref = taxpayer_ref(key, TIN_B)
    checked = check_index_proof(answer["index_proof"], verifiers, taxpayer_key=key, ref=ref)
    assert checked.entries == 2  # the manifest chunk and the withdrawal


def test_answers_walk_stored_nodes_and_an_index_without_them_stores_them(led: Ledger) -> None:
    # An answer reads one path from taxpayer_index_nodes; an index stored before those rows
    # existed (migration 018) answers "not available" until its next update stores its tree.
    update_index(led)
    found, key, ref = answer(led, TIN_A)
    check(found, key, ref)
    leaf = b"L" + bytes.fromhex(found["key"])

    def as_superuser(*statements: tuple[str, tuple]) -> None:
        with connection(led.admin_url, led.schema) as conn:
            conn.execute("SET session_replication_role = replica")  # triggers off
            for sql, params in statements:
                conn.execute(sql, params)
            conn.commit()

    # A damaged leaf: no answer, never a proof that does not verify.
    as_superuser(("UPDATE taxpayer_index_nodes SET val = sha256(val) WHERE node_id = %s", (leaf,)))
    with pytest.raises(IndexUnavailableError, match="stored tree"):
        answer(led, TIN_A)
    as_superuser(("DELETE FROM taxpayer_index_nodes", ()))
    with pytest.raises(IndexUnavailableError, match="missing"):
        answer(led, TIN_A)
    # The next update (a new process) stores the whole tree under the latest snapshot, whether
    # or not a checkpoint moved meanwhile (access records of other tests land in the log too).
    update_index(led)
    again, _, _ = answer(led, TIN_A)
    assert {k: again[k] for k in ("key", "value")} == {k: found[k] for k in ("key", "value")}
    assert [e["index"] for e in again["entries"]] == [e["index"] for e in found["entries"]]
    check(again, key, ref)
    for tin in (TIN_B, TIN_C, NEVER):
        check(*answer(led, tin))
    roots = "SELECT count(*) FROM taxpayer_index_nodes WHERE node_id = %s"
    assert rows(led, roots, (b"R",))[0][0] >= 1


def test_verify_index_catches_a_row_changed_behind_the_triggers(led: Ledger) -> None:
    if not rows(led, "SELECT count(*) FROM taxpayer_index_snapshots")[0][0]:
        update_index(led)
    assert verify_index(led) is None
    clean = ledger_cli(led, "verify", "--index")
    assert clean.returncode == 0, clean.stderr
    with connection(led.admin_url, led.schema) as conn:
        conn.execute("SET session_replication_role = replica")  # a superuser: triggers off
        conn.execute("UPDATE taxpayer_index_postings SET seq = seq + 1 WHERE seq = 0")
        conn.commit()
    found = verify_index(led)
    assert found is not None
    assert "postings" in found.what
    # The indexer refuses to build its next snapshot on them.
    with (
        connection(led.admin_url, led.schema) as conn,
        pytest.raises(VerificationError, match="do not give index snapshot"),
    ):
        indexer_for(led).load(conn)
    with connection(led.admin_url, led.schema) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("UPDATE taxpayer_index_postings SET seq = seq - 1 WHERE seq = 1")
        conn.execute(
            "UPDATE taxpayer_index_snapshots SET snapshot = sha256(snapshot) WHERE snapshot_seq = 0"
        )
        conn.commit()
    found = verify_index(led)
    assert found is not None
    assert found.snapshot_seq == 0
    assert "snapshot hash" in found.what
    cli = ledger_cli(led, "verify", "--index")
    assert cli.returncode == 6, cli.stderr
    assert cli.stderr.startswith("error: Index log leaf 0: its snapshot hash"), cli.stderr
