"""C2SP signed notes: the Go sumdb/note vectors, formats, tampering, key rotation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ledger.keys import generate_key_file, load_signers, load_verifiers
from ledger.tlog import checkpoint as tlog
from ledger.tlog.note import NoteError, Signer, Verifier, key_hash, open_note, sign_note

# golang.org/x/mod/sumdb/note note_test.go (ExampleSign / ExampleOpen).
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_NOTE = (
    PETER_TEXT
    + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_go_example_signs_byte_for_byte() -> None:
    signer = Signer.from_key_string(PETER_SKEY)
    assert signer.vkey == PETER_VKEY
    assert sign_note(PETER_TEXT, [signer]) == PETER_NOTE


def test_go_example_opens() -> None:
    text, names = open_note(PETER_NOTE, [Verifier.from_vkey(PETER_VKEY)])
    assert (text, names) == (PETER_TEXT, ["PeterNeumann"])


def test_key_hash_follows_the_spec() -> None:
    v = Verifier.from_vkey(PETER_VKEY)
    assert v.key_id.hex() == "c74f20a3"
    assert key_hash("PeterNeumann", v.public_key.public_bytes_raw()) == bytes.fromhex("c74f20a3")


@pytest.mark.parametrize(
    "bad",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # id mismatch
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # upper-case id
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a3+!!!!",
    ],
)
def test_malformed_verifier_keys_are_rejected(bad: str) -> None:
    with pytest.raises(NoteError):
        Verifier.from_vkey(bad)


def test_signature_line_format_and_round_trip() -> None:
    signer = Signer.generate("ledger.example.gov/disclosures")
    note = sign_note("hello\nworld\n", [signer])
    sig_line = note.split("\n\n", 1)[1]
    assert re.fullmatch(r"— ledger\.example\.gov/disclosures [A-Za-z0-9+/]{91}=\n", sig_line)
    assert open_note(note, [signer.verifier]) == (
        "hello\nworld\n",
        ["ledger.example.gov/disclosures"],
    )
    assert re.fullmatch(
        r"ledger\.example\.gov/disclosures\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}", signer.vkey
    )


def test_any_altered_byte_fails() -> None:
    verifier = Verifier.from_vkey(PETER_VKEY)
    for i in range(len(PETER_TEXT)):
        altered = PETER_NOTE[:i] + chr(ord(PETER_NOTE[i]) ^ 1) + PETER_NOTE[i + 1 :]
        with pytest.raises(NoteError):
            open_note(altered, [verifier])


def test_unknown_keys_are_ignored_but_a_note_needs_one_known_key() -> None:
    other = Signer.generate("other")
    with pytest.raises(NoteError, match="no signature"):
        open_note(PETER_NOTE, [other.verifier])
    both = sign_note(PETER_TEXT, [Signer.from_key_string(PETER_SKEY), other])
    assert open_note(both, [other.verifier])[1] == ["other"]


def test_key_file_is_private_and_rotation_keeps_old_checkpoints_valid(tmp_path: Path) -> None:
    path = tmp_path / "signing.key"
    old = generate_key_file(path, "ledger-2025")
    assert path.stat().st_mode & 0o777 == 0o600
    cp = tlog.Checkpoint("ledger.example.gov/disclosures/ledger.disclosures/0", 5, bytes(range(32)))
    old_note = tlog.sign(cp, load_signers(path))
    # Rotate: a new signing key; the old one stays only as its public vkey.
    new = Signer.generate("ledger-2026")
    path.write_text(new.key_string + "\n" + old.vkey + "\n")
    assert [s.name for s in load_signers(path)] == ["ledger-2026"]
    verifiers = load_verifiers(path)
    assert tlog.verify(old_note, verifiers) == cp
    assert tlog.verify(tlog.sign(cp, load_signers(path)), verifiers) == cp
