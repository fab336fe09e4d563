"""tlog-witness add-checkpoint: the request format and the witness's checks, without a network."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ledger.tlog import checkpoint as tlog
from ledger.tlog import merkle
from ledger.tlog.cosignature import Cosignature, Cosigner
from ledger.tlog.note import Signer
from ledger.tlog.witness_protocol import (
    AddCheckpoint,
    ForkedRootError,
    InconsistentProofError,
    MalformedRequestError,
    StaleOldSizeError,
    UnknownLogError,
    UntrustedSignatureError,
)
from ledger.witness.server import Witness
from ledger.witness.state import WitnessState
from ledger.witness.statuses import refusal_status_of

ORIGIN = "ledger.example.gov/disclosures/t/0"
LOG = Signer.generate("ledger.example.gov")


def leaves(n: int, salt: str = "") -> list[bytes]:
    return [merkle.leaf_hash(f"{salt}{i}".encode()) for i in range(n)]


def note_for(hashes: list[bytes], signer: Signer = LOG) -> str:
    cp = tlog.Checkpoint(ORIGIN, len(hashes), merkle.root_from_leaf_hashes(hashes))
    return tlog.sign(cp, [signer])


def request(old: int, hashes: list[bytes], proof_from: list[bytes] | None = None) -> bytes:
    proof = merkle.consistency_proof(proof_from or hashes, old, len(hashes)) if old else []
    return AddCheckpoint(old, proof, note_for(hashes)).to_bytes()


@pytest.fixture
def witness(tmp_path: Path) -> Witness:
    return Witness(
        Cosigner.generate("w"), [LOG.verifier], WitnessState(tmp_path / "s.json"), ["ledger."]
    )


def test_request_bytes_round_trip() -> None:
    hashes = leaves(7)
    body = request(3, hashes)
    parsed = AddCheckpoint.parse(body)
    assert parsed.old_size == 3
    assert parsed.note == note_for(hashes)
    assert body.startswith(b"old 3\n")
    assert b"\n\n" + note_for(hashes).encode() in body
    for bad in (b"old 03\n\n" + parsed.note.encode(), b"old 1\nnot base64!\n\n", b"old 1\n"):
        with pytest.raises(MalformedRequestError):
            AddCheckpoint.parse(bad)


def test_cosigns_a_growing_log_and_remembers_it(witness: Witness, tmp_path: Path) -> None:
    hashes = leaves(20)
    line = witness.add_checkpoint(request(0, hashes[:5]), now=1_700_000_000)
    found = Cosignature.parse(line.rstrip("\n"))
    assert found is not None
    assert found.timestamp == 1_700_000_000
    body = note_for(hashes[:5]).split("\n\n")[0] + "\n"
    assert witness.cosigner.verifier.verify(body, found)
    witness.add_checkpoint(request(5, hashes[:13]))
    witness.add_checkpoint(request(13, hashes[:13]))  # the same checkpoint again is fine
    again = Witness(witness.cosigner, [LOG.verifier], WitnessState(tmp_path / "s.json"))
    assert again.state.latest(ORIGIN).size == 13  # type: ignore[union-attr]
    with pytest.raises(StaleOldSizeError) as stale:
        again.add_checkpoint(request(5, hashes[:20]))
    assert stale.value.known_size == 13
    assert refusal_status_of(stale.value) == 409


def test_refuses_forks_and_keeps_the_evidence(witness: Witness) -> None:
    hashes = leaves(10)
    witness.add_checkpoint(request(0, hashes))
    other = hashes[:9] + leaves(1, "forged")
    with pytest.raises(ForkedRootError) as same_size:
        witness.add_checkpoint(request(10, other))
    assert refusal_status_of(same_size.value) == 409
    grown = other + leaves(5, "more")
    with pytest.raises(InconsistentProofError) as bad_proof:
        witness.add_checkpoint(request(10, grown))
    assert refusal_status_of(bad_proof.value) == 422
    # Only the fork is evidence: the failed proof shows nothing about the log.
    kinds = [e["kind"] for e in witness.state.evidence()]
    assert kinds == ["ForkedRoot"]
    assert all(e["cosigned_note"] and e["request"] for e in witness.state.evidence())
    assert witness.state.latest(ORIGIN).size == 10  # type: ignore[union-attr]
    with pytest.raises(ForkedRootError):  # the same fork again is not kept twice
        witness.add_checkpoint(request(10, other))
    assert len(witness.state.evidence()) == 1


def test_state_is_a_bounded_journal(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    w = Witness(Cosigner.generate("w"), [LOG.verifier], WitnessState(path, max_logs=2))
    hashes = leaves(40)
    for n in range(1, 40):
        w.add_checkpoint(request(n - 1, hashes[:n]))
    size = path.stat().st_size
    assert size < 40 * 1024  # compacted: one line per log, not one per request
    other = tlog.Checkpoint("ledger.example.gov/other", 1, hashes[0])
    w.add_checkpoint(AddCheckpoint(0, [], tlog.sign(other, [LOG])).to_bytes())
    third = tlog.Checkpoint("ledger.example.gov/third", 1, hashes[0])
    with pytest.raises(UnknownLogError, match="limit"):
        w.add_checkpoint(AddCheckpoint(0, [], tlog.sign(third, [LOG])).to_bytes())
    reopened = WitnessState(path)
    assert reopened.latest(ORIGIN).size == 39  # type: ignore[union-attr]
    assert len(reopened.logs) == 2
    # A line torn by a crash mid-append was never answered: dropped on reading.
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"log": "ledger.example.gov/disclosures/t/0", "si')
    assert WitnessState(path).latest(ORIGIN).size == 39  # type: ignore[union-attr]


def test_padding_and_the_evidence_cap_do_not_grow_the_state(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    w = Witness(Cosigner.generate("w"), [LOG.verifier], WitnessState(path, max_evidence=2))
    hashes = leaves(10)
    w.add_checkpoint(request(0, hashes))
    junk = "\u2014 junk " + "A" * 92 + "\n"
    junk *= 500
    w.add_checkpoint(AddCheckpoint(10, [], note_for(hashes) + junk).to_bytes())
    assert "junk" not in (w.state.latest_note(ORIGIN) or "")
    for i in range(5):
        with pytest.raises(ForkedRootError):
            w.add_checkpoint(request(10, hashes[:9] + leaves(1, f"forged{i}")))
    assert len(w.state.evidence()) == 2
    assert WitnessState(path).dropped == 3
    assert path.stat().st_size < 16 * 1024


def test_reads_a_state_file_in_the_older_format(tmp_path: Path) -> None:
    import base64
    import json

    path = tmp_path / "s.json"
    hashes = leaves(4)
    root = base64.b64encode(merkle.root_from_leaf_hashes(hashes)).decode()
    old = {"logs": {ORIGIN: {"size": 4, "root_hash": root, "note": note_for(hashes), "at": 1}}}
    path.write_text(json.dumps(old, indent=1))
    w = Witness(Cosigner.generate("w"), [LOG.verifier], WitnessState(path))
    w.add_checkpoint(request(4, leaves(6)))
    assert WitnessState(path).latest(ORIGIN).size == 6  # type: ignore[union-attr]
    assert path.read_text().startswith('{"witness_state":1}\n')


def test_unknown_log_and_untrusted_key(witness: Witness) -> None:
    stranger = Signer.generate("ledger.example.gov")
    with pytest.raises(UntrustedSignatureError) as untrusted:
        witness.add_checkpoint(AddCheckpoint(0, [], note_for(leaves(3), stranger)).to_bytes())
    assert refusal_status_of(untrusted.value) == 403
    cp = tlog.Checkpoint("elsewhere.example/log", 1, hashlib.sha256(b"x").digest())
    with pytest.raises(UnknownLogError) as unknown:
        witness.add_checkpoint(AddCheckpoint(0, [], tlog.sign(cp, [LOG])).to_bytes())
    assert refusal_status_of(unknown.value) == 404
    with pytest.raises(MalformedRequestError):
        # old size beyond the checkpoint's size
        witness.add_checkpoint(AddCheckpoint(4, [], note_for(leaves(3))).to_bytes())


def test_ledger_witnesses_setting_parses_and_refuses_nonsense() -> None:
    from ledger.errors import ConfigError
    from ledger.witness.client import parse_witnesses

    a, b = Cosigner.generate("w1"), Cosigner.generate("w2")
    spec = f"http://127.0.0.1:7380/ {a.verifier.vkey}; https://w2.example {b.verifier.vkey}\n"
    found = parse_witnesses(spec)
    assert [(e.url, e.name) for e in found] == [
        ("http://127.0.0.1:7380", "w1"),
        ("https://w2.example", "w2"),
    ]
    assert parse_witnesses("") == []
    for bad in ("w1", f"ftp://x {a.verifier.vkey}", f"http://x {LOG.vkey}"):
        with pytest.raises(ConfigError):
            parse_witnesses(bad)
