"""C2SP tlog-cosignature (Ed25519, cosignature/v1): a witness's timestamped signature on a checkpoint.

Spec: https://github.com/C2SP/C2SP/blob/main/tlog-cosignature.md. The signed message is
``cosignature/v1\\ntime <unix seconds>\\n`` followed by the checkpoint's note body; the signature
line is a signed-note line ``— <name> base64(key id || 8-byte big-endian time || signature)``
whose key id is SHA-256(name || 0x0A || 0x04 || public key)[:4]. A cosigned checkpoint is the
log's signed note with such lines appended, so note verifiers that do not know the witness
ignore them.
"""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature

from ledger.errors import VerificationError
from ledger.tlog.note import (
    SIG_PREFIX,
    KeyType,
    NoteError,
    SigningKey,
    VerifyingKey,
    signature_of,
)
from ledger.tlog.note import split_note as split_note  # where the witness modules find it

ALG_COSIGNATURE_V1 = 0x04
HEADER = "cosignature/v1\n"
MAX_TIMESTAMP = 2**63 - 1
COSIGNATURE_V1 = KeyType(
    ALG_COSIGNATURE_V1, "an Ed25519 cosignature/v1 key", "witness key", "witness key"
)


class TooFewCosignaturesError(VerificationError):
    """A checkpoint carries fewer valid cosignatures from the given witnesses than required."""


def signed_message(body: str, timestamp: int) -> bytes:
    """What the witness signs: the header line, the time line, then the checkpoint body."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise NoteError(f"cosignature time {timestamp} is out of range")
    return f"{HEADER}time {timestamp}\n{body}".encode()


@dataclass(frozen=True)
class Cosignature:
    name: str
    key_id: bytes
    timestamp: int
    signature: bytes

    @property
    def line(self) -> str:
        raw = self.key_id + struct.pack(">Q", self.timestamp) + self.signature
        return f"{SIG_PREFIX}{self.name} {base64.b64encode(raw).decode()}\n"

    @classmethod
    def parse(cls, line: str) -> Cosignature | None:
        """The cosignature a signature line holds, or None for a line of another shape."""
        name, raw = signature_of(line)
        if len(raw) != 4 + 8 + 64:
            return None  # a log signature (4 + 64 bytes) or another kind of signature
        (timestamp,) = struct.unpack(">Q", raw[4:12])
        return cls(name, raw[:4], timestamp, raw[12:])


class CosignatureVerifier(VerifyingKey, key_type=COSIGNATURE_V1):
    """A witness's public key, from a vkey ``<name>+<8 hex key id>+<base64(0x04 || key)>``."""

    def matches(self, cosignature: Cosignature) -> bool:
        return (cosignature.name, cosignature.key_id) == (self.name, self.key_id)

    def verify(self, body: str, cosignature: Cosignature) -> bool:
        if not self.matches(cosignature):
            return False
        try:
            self.public_key.verify(
                cosignature.signature, signed_message(body, cosignature.timestamp)
            )
            return True
        except (InvalidSignature, NoteError):
            return False


class Cosigner(SigningKey, key_type=COSIGNATURE_V1):
    """A witness's private key: ``PRIVATE+KEY+<name>+<8 hex key id>+<base64(0x04 || seed)>``."""

    @property
    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier(self.name, self.key_id, self.private_key.public_key())

    def cosign(self, body: str, timestamp: int) -> Cosignature:
        signature = self.private_key.sign(signed_message(body, timestamp))
        return Cosignature(self.name, self.key_id, timestamp, signature)


def cosignatures_on(note: str) -> list[Cosignature]:
    """Every cosignature-shaped signature line of a note, whoever made it."""
    _, lines = split_note(note)
    found = [Cosignature.parse(line) for line in lines]
    return [c for c in found if c is not None]


def valid_witnesses(note: str, witnesses: list[CosignatureVerifier]) -> list[str]:
    """Names of the given witnesses with at least one valid cosignature on the note's body."""
    body, _ = split_note(note)
    names: list[str] = []
    for cosignature in cosignatures_on(note):
        for witness in witnesses:
            if witness.name not in names and witness.verify(body, cosignature):
                names.append(witness.name)
    return names


def check_cosignatures(note: str, witness_vkeys: list[str], minimum: int) -> list[str]:
    """Raises TooFewCosignaturesError unless ``minimum`` of the given witnesses cosigned ``note``.

    Returns the names that did. The log's own signature is checked elsewhere (checkpoint.verify);
    this only counts witnesses, so a caller checks both.
    """
    witnesses = [CosignatureVerifier.from_vkey(k) for k in witness_vkeys]
    if minimum > len({(w.name, w.key_id) for w in witnesses}):
        raise VerificationError(
            f"--min-witnesses {minimum} is more than the {len(witnesses)} witness key(s) given."
        )
    names = valid_witnesses(note, witnesses)
    if len(names) < minimum:
        have = ", ".join(names) if names else "none"
        raise TooFewCosignaturesError(
            f"The checkpoint carries {len(names)} valid cosignature(s) from the given witnesses "
            f"({have}); at least {minimum} are required."
        )
    return names
