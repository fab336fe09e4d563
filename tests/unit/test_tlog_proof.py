"""C2SP tlog-proof@v1: writing, strict parsing, and `verify-proof` reading both proof forms."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from ledger.errors import VerificationError
from ledger.tlog import checkpoint as tlog
from ledger.tlog import merkle
from ledger.tlog.cosignature import Cosigner, TooFewCosignaturesError
from ledger.tlog.note import Signer
from ledger.tlog.offline import check_proof_file
from ledger.tlog.tlog_proof import TlogProof, TlogProofError, from_inclusion_json, parse

ORIGIN = "ledger.example.gov/disclosures/t/0"


def signed_log(
    entries: list[bytes], witness: Cosigner | None = None
) -> tuple[str, Signer, list[bytes]]:
    log = Signer.generate("disclosure-ledger")
    leaves = [merkle.leaf_hash(e) for e in entries]
    cp = tlog.Checkpoint(ORIGIN, len(leaves), merkle.root_from_leaf_hashes(leaves))
    note = tlog.sign(cp, [log])
    if witness is not None:
        note += witness.cosign(cp.to_text(), 1_700_000_000).line
    return note, log, leaves


def inclusion_json(entries: list[bytes], index: int, note: str, leaves: list[bytes]) -> dict:
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return {
        "log": "t/0",
        "leaf_index": index,
        "tree_size": len(entries),
        "leaf_hash": b64(leaves[index]),
        "value": b64(entries[index]),
        "hashes": [b64(h) for h in merkle.inclusion_proof(leaves, index, len(leaves))],
        "checkpoint": note,
    }


ENTRIES = [f"entry {i}".encode() for i in range(11)]


def test_the_spec_layout_round_trips() -> None:
    note, _, leaves = signed_log(ENTRIES)
    proof = from_inclusion_json(inclusion_json(ENTRIES, 6, note, leaves))
    text = proof.to_text()
    lines = text.split("\n")
    assert lines[0] == "c2sp.org/tlog-proof@v1"
    assert lines[1] == "extra " + base64.b64encode(b"entry 6").decode()
    assert lines[2] == "index 6"
    assert len(proof.hashes) == 4
    assert text.endswith("\n\n" + note)
    assert parse(text) == proof
    bare = TlogProof(0, (), note)
    assert bare.to_text() == "c2sp.org/tlog-proof@v1\nindex 0\n\n" + note
    assert parse(bare.to_text()) == bare


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("c2sp.org/tlog-proof@v2\nindex 0\n\nx", "does not start"),
        ("c2sp.org/tlog-proof@v1\nextra !!\nindex 0\n\nx", "extra data is not valid base64"),
        ("c2sp.org/tlog-proof@v1\nindex 01\n\nx", "not a decimal"),
        ("c2sp.org/tlog-proof@v1\nindex -1\n\nx", "not a decimal"),
        ("c2sp.org/tlog-proof@v1\n\nx", "no index line"),
        ("c2sp.org/tlog-proof@v1\nindex 3\nAAAA\n\nx", "hash 1 is not 32 bytes"),
        ("c2sp.org/tlog-proof@v1\nindex 3\n" + "A" * 43 + "=", "ends before the empty line"),
    ],
)
def test_malformed_files_are_refused_with_one_plain_line(text: str, message: str) -> None:
    with pytest.raises(TlogProofError, match=message):
        parse(text)


def test_verify_proof_reads_both_forms_and_refuses_a_changed_byte(tmp_path: Path) -> None:
    witness = Cosigner.generate("witness.court.example/w1")
    note, log, leaves = signed_log(ENTRIES, witness)
    as_json = inclusion_json(ENTRIES, 9, note, leaves)
    (tmp_path / "p.json").write_text(json.dumps(as_json))
    (tmp_path / "p.tlog-proof").write_text(from_inclusion_json(as_json).to_text())
    w = [witness.verifier.vkey]
    for name in ("p.json", "p.tlog-proof"):
        check = check_proof_file(tmp_path / name, [log.verifier.vkey], w, 1)
        assert check.kind == "inclusion"
        assert check.origin == ORIGIN
        assert "cosigned by witness.court.example/w1" in check.detail
    with pytest.raises(TooFewCosignaturesError):
        check_proof_file(tmp_path / "p.tlog-proof", [log.verifier.vkey], [*w, _other()], 2)
    text = (tmp_path / "p.tlog-proof").read_text()
    for line_no, label in ((1, "extra"), (3, "hash")):
        lines = text.split("\n")
        raw = bytearray(base64.b64decode(lines[line_no].removeprefix("extra ")))
        raw[0] ^= 1
        prefix = "extra " if label == "extra" else ""
        lines[line_no] = prefix + base64.b64encode(bytes(raw)).decode()
        (tmp_path / "bad.tlog-proof").write_text("\n".join(lines))
        with pytest.raises(VerificationError):
            check_proof_file(tmp_path / "bad.tlog-proof", [log.verifier.vkey])


def test_a_proof_without_extra_needs_the_entry(tmp_path: Path) -> None:
    note, log, leaves = signed_log(ENTRIES)
    withheld = inclusion_json(ENTRIES, 2, note, leaves)
    del withheld["value"]  # as the API serves it below the auditor role
    path = tmp_path / "p.tlog-proof"
    path.write_text(from_inclusion_json(withheld).to_text())
    assert "extra" not in path.read_text().split("\n")[1]
    with pytest.raises(TlogProofError, match="--entry FILE"):
        check_proof_file(path, [log.verifier.vkey])
    assert check_proof_file(path, [log.verifier.vkey], entry=ENTRIES[2]).kind == "inclusion"
    with pytest.raises(VerificationError):
        check_proof_file(path, [log.verifier.vkey], entry=ENTRIES[3])


def _other() -> str:
    return Cosigner.generate("witness.other.example/w2").verifier.vkey
