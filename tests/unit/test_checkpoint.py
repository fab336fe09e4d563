"""C2SP tlog-checkpoint bodies: round trip, strict parsing, tampering."""

from __future__ import annotations

import pytest

from ledger.tlog import checkpoint as tlog
from ledger.tlog.note import NoteError, Signer

ROOT = bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")


def test_body_is_origin_size_base64_root() -> None:
    cp = tlog.Checkpoint("example.com/log", 8, ROOT)
    assert cp.to_text() == "example.com/log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
    assert tlog.Checkpoint.parse(cp.to_text()) == cp


@pytest.mark.parametrize(
    "body",
    [
        "example.com/log\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",  # leading zero
        "example.com/log\n-1\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
        "example.com/log\n8\nAAAA\n",  # not 32 bytes
        "example.com/log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=",  # no final newline
        "\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
    ],
)
def test_malformed_bodies_are_rejected(body: str) -> None:
    with pytest.raises(tlog.CheckpointError):
        tlog.Checkpoint.parse(body)


def test_signed_checkpoint_verifies_and_one_altered_byte_fails() -> None:
    signer = Signer.generate("ledger")
    cp = tlog.Checkpoint("example.com/log", 8, ROOT)
    note = tlog.sign(cp, [signer])
    assert tlog.verify(note, [signer.verifier], expected_origin="example.com/log") == cp
    with pytest.raises(tlog.CheckpointError):
        tlog.verify(note, [signer.verifier], expected_origin="example.com/other")
    for i in range(len(cp.to_text())):
        altered = note[:i] + chr(ord(note[i]) ^ 1) + note[i + 1 :]
        with pytest.raises((NoteError, tlog.CheckpointError)):
            tlog.verify(altered, [signer.verifier])
