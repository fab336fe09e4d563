"""A real log served as C2SP tlog-tiles: a client rebuilds the checkpoint's root from hash tiles
over HTTP; entry bundles are the auditor's and recorded; bad paths get one line."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import pytest

from consumers.service import start_consumers
from ledger.api import create_app
from ledger.keys import load_signers, signing_key_path
from ledger.runtime import Ledger
from ledger.store.connection import connection
from ledger.store.tokens import ROLES, create_token
from ledger.tlog import checkpoint as tlog
from ledger.tlog import merkle, tiles
from tests.fixtures_scenario import served
from tests.integration.helpers import caught_up, disclosure, emit, isolated_ledger, rows, wait_until

pytestmark = pytest.mark.integration
D = date(2025, 8, 7)
EVENTS = 300  # past one full tile of 256


@dataclass
class TiledLog:
    ledger: Ledger
    url: str  # the log's tiles prefix
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def tiled(ledger_settings) -> Iterator[TiledLog]:
    led = isolated_ledger(ledger_settings, "tiles", partitions=1)
    running = start_consumers(led, only=["audit_log"])
    try:
        emit(led, [disclosure(D, i + 1, "Tiled recipient") for i in range(EVENTS)])
        caught_up(led, ("audit_log",))
        wait_until(
            lambda: rows(led, "SELECT max(tree_size) FROM checkpoints")[0][0] == EVENTS,
            what=f"checkpoint of {EVENTS}",
        )
        with connection(led.admin_url, led.schema) as conn:
            tokens = {role: create_token(conn, role, f"tiles-{role}") for role in ROLES}
        with served(create_app(led.reader_only())) as base:
            yield TiledLog(led, f"{base}/tiles/{led.topics.disclosures}/0", tokens)
    finally:
        running.stop()


def get(log: TiledLog, path: str, role: str = "public") -> httpx.Response:
    auth = {"authorization": f"Bearer {log.tokens[role]}"}
    return httpx.get(f"{log.url}/{path}", headers=auth, timeout=30)


def test_a_client_rebuilds_the_checkpoint_root_from_hash_tiles(tiled: TiledLog) -> None:
    answer = get(tiled, "checkpoint")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    log_key = load_signers(signing_key_path(tiled.ledger.settings))[0].verifier
    cp = tlog.verify(answer.text, [log_key])
    assert cp.size >= EVENTS
    fetched: dict[str, httpx.Response] = {}

    def fetch(tile: tiles.Tile) -> bytes:
        response = get(tiled, tile.path)
        assert response.status_code == 200, (tile.path, response.text)
        fetched[tile.path] = response
        return response.content

    assert tiles.root_from_tiles(cp.size, fetch) == cp.root_hash
    assert "tile/1/000.p/1" in fetched  # the node over leaves 0..255, from level 1
    full = get(tiled, "tile/0/000")
    assert full.status_code == 200
    assert len(full.content) == 256 * 32
    assert "immutable" in full.headers["cache-control"]
    partial = [r for p, r in fetched.items() if ".p/" in p]
    assert partial
    assert all("immutable" not in r.headers["cache-control"] for r in partial)
    # The leaf hashes are the stored entries' own.
    stored = rows(tiled.ledger, "SELECT leaf_hash FROM entries WHERE seq < 256 ORDER BY seq")
    assert tiles.split_hashes(full.content, 256) == [bytes(r[0]) for r in stored]


def test_entry_bundles_are_the_auditors_and_are_recorded(tiled: TiledLog) -> None:
    refused = get(tiled, "tile/entries/000", "overseer")
    assert refused.status_code == 403
    assert "auditor" in refused.json()["error"]
    bundle = get(tiled, "tile/entries/000", "auditor")
    assert bundle.status_code == 200, bundle.text
    assert "private" in bundle.headers["cache-control"]
    values = tiles.parse_entry_bundle(bundle.content)
    assert len(values) == 256
    level0 = tiles.split_hashes(get(tiled, "tile/0/000").content, 256)
    assert [merkle.leaf_hash(v) for v in values] == level0

    def recorded() -> list[dict]:
        found = rows(
            tiled.ledger,
            "SELECT body::jsonb AS body FROM entries WHERE event_type = 'LedgerAccessed' AND body::text LIKE %s",
            ("%/tiles/%",),
        )
        return [r[0] if isinstance(r[0], dict) else json.loads(r[0]) for r in found]

    accesses = wait_until(
        lambda: [a for a in recorded() if a.get("accessor") == "tiles-auditor"],
        what="the recorded entry-bundle read",
    )
    assert any("entries/000" in json.dumps(a) and a.get("status") == 200 for a in accesses), (
        accesses
    )


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("tile/0/999", 404),  # past the log's latest checkpoint
        ("tile/5/000.p/1", 404),
        ("tile/0/5", 400),  # not the three-digit encoding
        ("tile/99/000", 400),
        ("tile/0/000.p/300", 400),
        ("tile/entries/x000/001", 400),
    ],
)
def test_bad_tile_paths_get_one_line(tiled: TiledLog, path: str, status: int) -> None:
    answer = get(tiled, path)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error
    assert "\n" not in error


def test_an_unknown_log_is_a_404(tiled: TiledLog) -> None:
    base = tiled.url.rsplit("/tiles/", 1)[0]
    auth = {"authorization": f"Bearer {tiled.tokens['public']}"}
    for path in ("/tiles/no.such.topic/0/checkpoint", "/tiles/bad topic/0/tile/0/000"):
        answer = httpx.get(base + path, headers=auth, timeout=30)
        assert answer.status_code == 404, answer.text
        assert answer.json()["error"]


@pytest.mark.skipif(shutil.which("go") is None, reason="Go is not installed")
def test_torchwood_reads_the_log_as_tlog_tiles(tiled: TiledLog) -> None:
    """A tile client we did not write (filippo.io/torchwood, golang.org/x/mod/sumdb/tlog)
    checks the checkpoint, recomputes its root from the hash tiles and proves an entry."""
    program = Path(__file__).resolve().parent.parent / "assets" / "notecheck"
    fetched = subprocess.run(
        ["go", "mod", "download"], cwd=program, capture_output=True, check=False, timeout=300
    )
    if fetched.returncode != 0:
        pytest.skip("the Go modules (golang.org/x/mod, filippo.io/torchwood) cannot be fetched")
    vkey = load_signers(signing_key_path(tiled.ledger.settings))[0].vkey
    read = subprocess.run(
        ["go", "run", ".", "tiles", tiled.url, tiled.tokens["auditor"], vkey, "260"],
        cwd=program,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert read.returncode == 0, read.stderr
    result = json.loads(read.stdout)
    assert result["size"] >= EVENTS
    stored = rows(tiled.ledger, "SELECT value FROM entries WHERE seq = 260")[0][0]
    assert result["entry_sha256"] == hashlib.sha256(bytes(stored)).hexdigest()
    # Without the auditor's role the entry bundle is refused, so the client fails.
    refused = subprocess.run(
        ["go", "run", ".", "tiles", tiled.url, tiled.tokens["overseer"], vkey, "260"],
        cwd=program,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert refused.returncode == 1
    assert "403" in refused.stderr
