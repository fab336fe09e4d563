"""C2SP tlog-checkpoint: origin, tree size, root hash; carried in a signed note.

Spec: https://github.com/C2SP/C2SP/blob/main/tlog-checkpoint.md.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from ledger.errors import VerificationError
from ledger.tlog.note import Signer, Verifier, open_note, sign_note

_SIZE = re.compile(r"^(0|[1-9][0-9]*)$")


class CheckpointError(VerificationError):
    """A checkpoint body is malformed or is not the one expected."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes

    def to_text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root_hash).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise CheckpointError("checkpoint body must have origin, size and root hash lines")
        origin, size, root = lines[0], lines[1], lines[2]
        if not origin:
            raise CheckpointError("checkpoint origin is empty")
        if not _SIZE.match(size):
            raise CheckpointError(
                f"checkpoint tree size {size!r} is not a decimal without leading zeros"
            )
        try:
            root_hash = base64.b64decode(root, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CheckpointError("checkpoint root hash is not base64") from exc
        if len(root_hash) != 32:
            raise CheckpointError(f"checkpoint root hash has {len(root_hash)} bytes, not 32")
        return cls(origin, int(size), root_hash)


def sign(checkpoint: Checkpoint, signers: list[Signer]) -> str:
    return sign_note(checkpoint.to_text(), signers)


def verify(note: str, verifiers: list[Verifier], expected_origin: str | None = None) -> Checkpoint:
    text, _ = open_note(note, verifiers)
    cp = Checkpoint.parse(text)
    if expected_origin is not None and cp.origin != expected_origin:
        raise CheckpointError(f"checkpoint is for {cp.origin!r}, expected {expected_origin!r}")
    return cp
