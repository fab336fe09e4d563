"""Go's torchwood v0.10.0 (code we did not write) checks what ledger.tlog.mpt and
ledger.tlog.tlog_proof produce: MPT lookup and prefix proofs (mpt.VerifyLookup, VerifyPrefix,
and its own ProveLookup/ProvePrefix/TreeHash agreeing with ours) and tlog-proof files
(torchwood.VerifyProof with a policy of the log key and the witnesses' keys). No services;
skipped only when the Go module cannot be fetched."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
from pathlib import Path

import pytest

from ledger.tlog import checkpoint as tlog
from ledger.tlog import merkle, mpt
from ledger.tlog.cosignature import Cosigner
from ledger.tlog.mpt_tree import Tree
from ledger.tlog.note import Signer
from ledger.tlog.tlog_proof import TlogProof
from tests.integration.torchwood_go import build

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("go"))


def ask(program: Path, requests: list[dict[str, object]]) -> list[dict[str, object]]:
    lines = "".join(json.dumps(r) + "\n" for r in requests)
    done = subprocess.run(
        [str(program), "mpt"], input=lines, capture_output=True, text=True, check=False, timeout=600
    )
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(answers) == len(requests)
    return answers


def trees(rnd: random.Random) -> list[dict[bytes, bytes]]:
    """Hashed 32-byte keys as the taxpayer index uses, plus short keys that hit the padding."""
    hashed = {hashlib.sha256(b"k%d" % i).digest(): rnd.randbytes(32) for i in range(300)}
    short = {
        bytes(rnd.choice([0, 1, 0xAB, 0xFF]) for _ in range(rnd.randrange(4))): b"v%d" % i
        for i in range(40)
    }
    return [{}, {b"only": b"one"}, hashed, short]


def test_torchwood_verifies_our_lookup_and_prefix_proofs(program: Path) -> None:
    rnd = random.Random(25)
    requests: list[dict[str, object]] = []
    expected: list[object] = []
    for kv in trees(rnd):
        tree = Tree()
        for k, v in kv.items():
            tree.set(k, v)
        snap = tree.snapshot()
        requests.append({"op": "treehash", "kvs": [[k.hex(), v.hex()] for k, v in kv.items()]})
        expected.append({"hash": snap.hex()})
        absent = [hashlib.sha256(b"absent%d" % i).digest() for i in range(20)] + [b"\xab\x00"]
        for key in [*list(kv)[:60], *absent]:
            path = tree.path(key)
            val, proof = mpt.prove_lookup(key, path)
            hexval = None if val is None else val.hex()
            requests.append({"op": "provelookup", "key": key.hex(), "path": path.hex()})
            expected.append({"val": hexval, "proof": proof.hex()})
            claim = {"op": "lookup", "snap": snap.hex(), "key": key.hex(), "val": hexval}
            requests.append({**claim, "proof": proof.hex()})
            expected.append({"ok": True})
            if proof:
                bad = bytearray(proof)
                bad[rnd.randrange(len(bad))] ^= 1 << rnd.randrange(8)
                requests.append({**claim, "proof": bytes(bad).hex()})
                expected.append({"ok": False})
            if val is not None:  # the same proof with another value
                requests.append({**claim, "val": (val + b"x").hex(), "proof": proof.hex()})
                expected.append({"ok": False})
        for prefix in [b"", b"\x00", b"\xab", b"\x80", b"\xff\xff"]:
            path = tree.path(prefix)
            subtree, proof = mpt.prove_prefix(prefix, path)
            requests.append({"op": "proveprefix", "prefix": prefix.hex(), "path": path.hex()})
            expected.append({"hash": subtree.hex(), "proof": proof.hex()})
            requests.append(
                {
                    "op": "prefix",
                    "snap": snap.hex(),
                    "prefix": prefix.hex(),
                    "hash": subtree.hex(),
                    "proof": proof.hex(),
                }
            )
            expected.append({"ok": True})
    answers = ask(program, requests)
    mismatches = [
        (r, a, e)
        for r, a, e in zip(requests, answers, expected, strict=True)
        if {k: a.get(k) for k in e} != e  # type: ignore[attr-defined]
    ]
    assert not mismatches, mismatches[:3]
    assert sum(e == {"ok": False} for e in expected) > 100  # tampered proofs were really sent


def _proof_file(tmp_path: Path, witness: Cosigner | None) -> tuple[Path, bytes, Signer, str]:
    entries = [b"message %d" % i for i in range(13)]
    leaves = [merkle.leaf_hash(e) for e in entries]
    log = Signer.generate("disclosure-ledger")
    origin = "ledger.example.gov/disclosures/t/0"
    cp = tlog.Checkpoint(origin, len(leaves), merkle.root_from_leaf_hashes(leaves))
    note = tlog.sign(cp, [log])
    if witness is not None:
        note += witness.cosign(cp.to_text(), 1_700_000_000).line
    proof = TlogProof(7, tuple(merkle.inclusion_proof(leaves, 7, 13)), note, entries[7])
    path = tmp_path / "entry.tlog-proof"
    path.write_text(proof.to_text())
    return path, leaves[7], log, origin


def verify_proof(program: Path, *args: str) -> subprocess.CompletedProcess[str]:
    run = [str(program), "tlogproof", *args]
    return subprocess.run(run, capture_output=True, text=True, check=False, timeout=300)


def test_torchwood_verifyproof_accepts_our_tlog_proof_with_log_and_witness_keys(
    program: Path, tmp_path: Path
) -> None:
    witness = Cosigner.generate("witness.court.example/w1")
    path, leaf, log, origin = _proof_file(tmp_path, witness)
    keys = [origin, log.verifier.vkey, witness.verifier.vkey]
    ok = verify_proof(program, str(path), leaf.hex(), *keys)
    assert ok.returncode == 0, ok.stderr
    # Each part is checked: another record, another origin, a missing witness, a changed hash.
    assert verify_proof(program, str(path), hashlib.sha256(b"x").hexdigest(), *keys).returncode == 1
    wrong_origin = verify_proof(program, str(path), leaf.hex(), "other.example/x", *keys[1:])
    assert wrong_origin.returncode == 1
    other = Cosigner.generate("witness.other.example/w2").verifier.vkey
    assert verify_proof(program, str(path), leaf.hex(), *keys, other).returncode == 1
    lines = path.read_text().split("\n")
    lines[3] = lines[3][:5] + ("A" if lines[3][5] != "A" else "B") + lines[3][6:]
    path.write_text("\n".join(lines))
    changed = verify_proof(program, str(path), leaf.hex(), *keys)
    assert changed.returncode == 1
    assert "inclusion proof verification failed" in changed.stderr
