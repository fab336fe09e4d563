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
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from ledger.errors import ExitCode, VerificationError
from ledger.tlog.note import SIG_PREFIX, NoteError, b64decode, check_name

ALG_COSIGNATURE_V1 = 0x04
HEADER = "cosignature/v1\n"
MAX_TIMESTAMP = 2**63 - 1


class TooFewCosignaturesError(VerificationError, exit_code=ExitCode.TOO_FEW_COSIGNATURES):
    """A checkpoint carries fewer valid cosignatures from the given witnesses than required."""


def key_id(name: str, public_key: bytes) -> bytes:
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ALG_COSIGNATURE_V1]) + public_key)
    return digest.digest()[:4]


def signed_message(body: str, timestamp: int) -> bytes:
    """What the witness signs: the header line, the time line, then the checkpoint body."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise NoteError(f"cosignature time {timestamp} is out of range")
    return f"{HEADER}time {timestamp}\n{body}".encode()


def split_note(note: str) -> tuple[str, list[str]]:
    """(body, signature lines) of a signed note."""
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise NoteError("malformed note: no blank line before the signatures")
    return note[: split + 1], note[split + 2 :].splitlines()


def _public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


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
        if not line.startswith(SIG_PREFIX):
            raise NoteError(f"malformed signature line {line!r}")
        fields = line[len(SIG_PREFIX) :].rstrip("\n").split(" ")
        if len(fields) != 2:
            raise NoteError(f"malformed signature line {line!r}")
        raw = b64decode(fields[1], "signature")
        if len(raw) != 4 + 8 + 64:
            return None  # a log signature (4 + 64 bytes) or another kind of signature
        (timestamp,) = struct.unpack(">Q", raw[4:12])
        return cls(fields[0], raw[:4], timestamp, raw[12:])


@dataclass(frozen=True)
class CosignatureVerifier:
    """A witness's public key, from a vkey ``<name>+<8 hex key id>+<base64(0x04 || key)>``."""

    name: str
    key_id: bytes
    public_key: Ed25519PublicKey

    @classmethod
    def from_vkey(cls, vkey: str) -> CosignatureVerifier:
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError(f"witness key {vkey!r} is not name+hash+key")
        name, hex_id, b64 = parts
        check_name(name)
        raw = b64decode(b64, "witness key")
        if len(raw) != 33 or raw[0] != ALG_COSIGNATURE_V1:
            raise NoteError(
                "witness key is not an Ed25519 cosignature/v1 key (0x04 followed by 32 bytes)"
            )
        if len(hex_id) != 8 or key_id(name, raw[1:]).hex() != hex_id:
            raise NoteError(f"witness key hash {hex_id} does not match the key and name")
        return cls(name, bytes.fromhex(hex_id), Ed25519PublicKey.from_public_bytes(raw[1:]))

    @property
    def vkey(self) -> str:
        raw = bytes([ALG_COSIGNATURE_V1]) + _public_bytes(self.public_key)
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(raw).decode()}"

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


@dataclass(frozen=True)
class Cosigner:
    """A witness's private key: ``PRIVATE+KEY+<name>+<8 hex key id>+<base64(0x04 || seed)>``."""

    name: str
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> Cosigner:
        return cls(check_name(name), Ed25519PrivateKey.generate())

    @classmethod
    def from_key_string(cls, text: str) -> Cosigner:
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("witness key is not PRIVATE+KEY+name+hash+key")
        name, hex_id, b64 = parts[2:]
        raw = b64decode(b64, "witness key")
        if len(raw) != 33 or raw[0] != ALG_COSIGNATURE_V1:
            raise NoteError("witness key is not an Ed25519 cosignature/v1 key")
        cosigner = cls(check_name(name), Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if cosigner.key_id.hex() != hex_id:
            raise NoteError("witness key hash does not match the key and name")
        return cosigner

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, _public_bytes(self.private_key.public_key()))

    @property
    def key_string(self) -> str:
        seed = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        b64 = base64.b64encode(bytes([ALG_COSIGNATURE_V1]) + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{b64}"

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
