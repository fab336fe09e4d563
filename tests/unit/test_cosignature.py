"""C2SP tlog-cosignature/v1: format, key ids, the signed message, and counting witnesses."""

from __future__ import annotations

import base64
import hashlib

import pytest

from ledger.cli.exit_codes import exit_code_of
from ledger.exit_codes import ExitCode
from ledger.tlog import checkpoint as tlog
from ledger.tlog.cosignature import (
    Cosignature,
    CosignatureVerifier,
    Cosigner,
    TooFewCosignaturesError,
    check_cosignatures,
    cosignatures_on,
    signed_message,
    valid_witnesses,
)
from ledger.tlog.note import NoteError, Signer, Verifier

# The example checkpoint of c2sp.org/tlog-cosignature: its witness line and message time.
SPEC_LINE = (
    "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin"
    "1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA=="
)
SPEC_TIME = 1679315147


def cosigned_note() -> tuple[str, Signer, Cosigner]:
    log = Signer.generate("ledger.example.gov")
    witness = Cosigner.generate("witness.court.example/w1")
    cp = tlog.Checkpoint("ledger.example.gov/disclosures/t/0", 5, hashlib.sha256(b"r").digest())
    note = tlog.sign(cp, [log])
    return note + witness.cosign(cp.to_text(), 1_700_000_000).line, log, witness


def test_the_spec_example_line_parses_to_its_key_id_and_time() -> None:
    found = Cosignature.parse(SPEC_LINE)
    assert found is not None
    assert found.name == "witness.example.com/w1"
    assert found.key_id.hex() == "8d66cf3f"
    assert found.timestamp == SPEC_TIME
    assert len(found.signature) == 64
    assert found.line == SPEC_LINE + "\n"


def test_signed_message_is_header_time_then_body() -> None:
    body = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    assert signed_message(body, SPEC_TIME) == (
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
        b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )


def test_key_id_and_vkey_use_type_0x04() -> None:
    witness = Cosigner.generate("w")
    vkey = witness.verifier.vkey
    _name, hex_id, b64 = vkey.split("+", 2)
    raw = base64.b64decode(b64)
    assert raw[0] == 0x04
    assert len(raw) == 33
    assert hex_id == hashlib.sha256(b"w\n\x04" + raw[1:]).hexdigest()[:8]
    assert CosignatureVerifier.from_vkey(vkey) == witness.verifier
    assert Cosigner.from_key_string(witness.key_string).key_id == witness.key_id
    # A log (0x01) key is not a witness key, and the other way round.
    with pytest.raises(NoteError):
        CosignatureVerifier.from_vkey(Signer.generate("w").vkey)
    with pytest.raises(NoteError):
        Verifier.from_vkey(vkey)


def test_a_cosigned_note_still_verifies_with_the_log_key_alone() -> None:
    note, log, witness = cosigned_note()
    assert tlog.verify(note, [log.verifier]).size == 5
    assert [c.name for c in cosignatures_on(note)] == [witness.name]
    assert valid_witnesses(note, [witness.verifier]) == [witness.name]


def test_minimum_count_passes_and_fails_with_its_exit_code() -> None:
    note, _, witness = cosigned_note()
    other = Cosigner.generate("witness.plaintiffs.example")
    assert check_cosignatures(note, [witness.verifier.vkey], 1) == [witness.name]
    assert check_cosignatures(note, [witness.verifier.vkey, other.verifier.vkey], 1)
    with pytest.raises(TooFewCosignaturesError) as caught:
        check_cosignatures(note, [witness.verifier.vkey, other.verifier.vkey], 2)
    assert exit_code_of(caught.value) == ExitCode.TOO_FEW_COSIGNATURES
    with pytest.raises(TooFewCosignaturesError):
        check_cosignatures(note, [other.verifier.vkey], 1)


def test_a_cosignature_on_another_body_or_time_does_not_count() -> None:
    note, _, witness = cosigned_note()
    body, sigs = note.split("\n\n")
    tampered = body.replace("\n5\n", "\n6\n") + "\n\n" + sigs
    assert valid_witnesses(tampered, [witness.verifier]) == []
    line = cosignatures_on(note)[0]
    moved = Cosignature(line.name, line.key_id, line.timestamp + 1, line.signature)
    assert not witness.verifier.verify(body + "\n", moved)


def test_an_impostor_with_the_same_name_does_not_count() -> None:
    note, _, witness = cosigned_note()
    impostor = Cosigner.generate(witness.name)
    assert valid_witnesses(note, [impostor.verifier]) == []
