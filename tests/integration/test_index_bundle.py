"""The taxpayer index's log leaves the ledger two ways. Export bundles carry its signed
checkpoint and every leaf with the signed disclosure-log checkpoints it covers: `verify-bundle`
checks them offline, an expert who rebuilds the index from the log gets the same snapshot
hashes, a changed leaf is named. The API serves it as tlog-tiles under /tiles/index/."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from consumers.service import start_consumers
from consumers.taxpayer_index import TaxpayerIndexer, rebuild
from ledger.api import create_app
from ledger.keys import load_signers, signing_key_path
from ledger.ops.taxpayer_index import indexer_for
from ledger.privacy import load_taxpayer_key, taxpayer_key_path, taxpayer_ref
from ledger.runtime import Ledger
from ledger.store.connection import connection
from ledger.store.tokens import create_token
from ledger.tlog import checkpoint as tlog
from ledger.tlog import merkle, tiles
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
from tests.integration.test_export_bundle import resign

pytestmark = pytest.mark.integration
D = date(2025, 8, 7)


def ledger_cli(led: Ledger, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [shutil.which("ledger") or "ledger", *args],
        capture_output=True,
        text=True,
        check=False,
        env=cli_env(led),
        timeout=300,
    )


def index_covers(led: Ledger) -> bool:
    """The newest index snapshot covers every entry of every disclosure log, and is signed."""
    (entries,) = rows(
        led, "SELECT count(*) FROM entries WHERE log_id LIKE %s", (led.topics.disclosures + "/%",)
    )[0]
    covered = rows(
        led,
        "SELECT coalesce(sum(tree_size), 0) FROM taxpayer_index_coverage"
        " WHERE snapshot_seq = (SELECT max(snapshot_seq) FROM taxpayer_index_snapshots)",
    )[0][0]
    signed = rows(led, "SELECT coalesce(max(tree_size), 0) FROM taxpayer_index_checkpoints")[0][0]
    snaps = rows(led, "SELECT count(*) FROM taxpayer_index_snapshots")[0][0]
    return entries > 0 and covered == entries and signed == snaps


@pytest.fixture(scope="module")
def led(ledger_settings) -> Iterator[Ledger]:
    led = isolated_ledger(ledger_settings, "idxbundle", partitions=2)
    key = load_taxpayer_key(taxpayer_key_path(led.settings))
    a, b = taxpayer_ref(key, "111-11-1111"), taxpayer_ref(key, "222-22-2222")
    running = start_consumers(led)  # the index loop among them
    try:
        emit(led, [disclosure(D, 1, "ICE", taxpayer_refs=[a]), disclosure(D, 2, "Other")])
        caught_up(led)
        wait_until(lambda: index_covers(led), 120, "the index over the first entries")
        emit(led, [disclosure(D, 3, "ICE", taxpayer_refs=[a, b])])
        caught_up(led)
        wait_until(lambda: index_covers(led), 120, "the index over every entry")
        yield led
    finally:
        running.stop()


def vkey(led: Ledger) -> str:
    return load_signers(signing_key_path(led.settings))[0].vkey


def export(led: Ledger, out: Path, profile: str) -> Path:
    done = ledger_cli(led, "export", "--out", str(out), "--since", str(D), "--profile", profile)
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.parametrize("profile", ["auditor", "protective-order"])
def test_bundles_carry_the_index_log_and_it_rebuilds(
    led: Ledger, tmp_path: Path, profile: str
) -> None:
    out = export(led, tmp_path / profile, profile)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["files"]["taxpayer_index"] == {
        "checkpoint": "index/checkpoint",
        "leaves": "index/leaves.jsonl",
    }
    ok = ledger_cli(led, "verify-bundle", str(out), "--key", vkey(led))
    assert ok.returncode == 0, ok.stderr
    note = (out / "index/checkpoint").read_text()
    assert note.startswith(f"{led.settings.log_origin}/index\n")
    leaves = [json.loads(line) for line in (out / "index/leaves.jsonl").read_text().splitlines()]
    assert len(leaves) == int(note.split("\n")[1]) >= 2
    # The covered input checkpoints are the disclosure logs' signed notes, verbatim.
    for c in leaves[-1]["covered"]:
        assert c["checkpoint"].startswith(f"{c['origin']}\n{c['tree_size']}\n")
        assert c["log"].startswith(led.topics.disclosures + "/")
    # What an expert does with the log and the taxpayer key: rebuild, compare each snapshot.
    fresh = TaxpayerIndexer(
        load_taxpayer_key(taxpayer_key_path(led.settings)),
        led.topics.disclosures,
        indexer_for(led).origin_of,
    )
    with connection(led.reader_url, led.schema) as conn:
        rebuilt = [snap.hex() for _, snap, _ in rebuild(conn, fresh)]
    assert [line["snapshot"] for line in leaves] == rebuilt[: len(leaves)]


def test_a_changed_index_leaf_in_a_bundle_is_named(led: Ledger, tmp_path: Path) -> None:
    out = export(led, tmp_path / "auditor", "auditor")
    path = out / "index/leaves.jsonl"
    lines = path.read_text().splitlines()
    first = json.loads(lines[1])
    first["snapshot"] = ("0" if first["snapshot"][0] != "0" else "1") + first["snapshot"][1:]
    lines[1] = json.dumps(first, sort_keys=True)
    path.write_text("\n".join(lines) + "\n")
    resign(led, out)  # as the key's holder could: the check beneath the signed list names it
    bad = ledger_cli(led, "verify-bundle", str(out), "--key", vkey(led))
    assert bad.returncode == 33, bad.stderr  # the bundle checkpoint exit code
    assert "index/leaves.jsonl leaf 1: the leaf is not its snapshot" in bad.stderr
    assert "Traceback" not in bad.stderr

    # A leaf dropped: the leaves no longer match the signed index log's size.
    path.write_text("\n".join(lines[:1]) + "\n")
    resign(led, out)
    cut = ledger_cli(led, "verify-bundle", str(out), "--key", vkey(led))
    assert cut.returncode == 33, cut.stderr
    assert "index/leaves.jsonl: 1 leaves for an index log of" in cut.stderr


def test_the_index_log_is_served_as_tlog_tiles(led: Ledger) -> None:
    with connection(led.admin_url, led.schema) as conn:
        token = create_token(conn, "public", "index-tiles")
    auth = {"authorization": f"Bearer {token}"}
    with served(create_app(led.reader_only())) as base:

        def get(path: str) -> httpx.Response:
            answer = httpx.get(f"{base}/tiles/index/{path}", headers=auth, timeout=30)
            assert answer.status_code == 200, (path, answer.text)
            return answer

        log_key = load_signers(signing_key_path(led.settings))[0].verifier
        note = get("checkpoint").text
        cp = tlog.verify(note, [log_key], f"{led.settings.log_origin}/index")
        assert cp.size >= 2
        assert tiles.root_from_tiles(cp.size, lambda t: get(t.path).content) == cp.root_hash
        bundle = get(f"tile/entries/000.p/{cp.size}")
        leaves = tiles.parse_entry_bundle(bundle.content)
        stored = rows(
            led,
            "SELECT leaf FROM taxpayer_index_snapshots WHERE snapshot_seq < %s"
            " ORDER BY snapshot_seq",
            (cp.size,),
        )
        assert leaves == [bytes(r[0]) for r in stored]
        assert merkle.root_from_leaf_hashes([merkle.leaf_hash(v) for v in leaves]) == cp.root_hash
        past = httpx.get(f"{base}/tiles/index/tile/0/001", headers=auth, timeout=30)
        assert past.status_code == 404
        bad = httpx.get(f"{base}/tiles/index/tile/0/x1", headers=auth, timeout=30)
        assert bad.status_code == 400
