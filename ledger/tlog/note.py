"""C2SP signed-note with Ed25519, compatible with golang.org/x/mod/sumdb/note.

Spec: https://github.com/C2SP/C2SP/blob/main/signed-note.md. A note is UTF-8 text ending in a
newline, a blank line, then signature lines ``— <key name> <base64(key hash || signature)>``.
The key hash is the first 4 bytes of SHA-256(key name || 0x0A || 0x01 || public key), 0x01 being
the Ed25519 signature type.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.errors import VerificationError

ALG_ED25519 = 0x01
SIG_PREFIX = "\u2014 "  # em dash and a space


class NoteError(VerificationError):
    """A note, key or signature is malformed or does not verify."""


def check_name(name: str) -> str:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")
    return name


def key_hash(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()[:4]


def b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError(f"{what} is not valid base64") from exc


@dataclass(frozen=True)
class Verifier:
    name: str
    key_id: bytes
    public_key: Ed25519PublicKey

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        """Parses ``<name>+<8 hex key hash>+<base64(0x01 || 32-byte public key)>``."""
        parts = vkey.strip().split("+", 2)  # the base64 key itself may contain '+'
        if len(parts) != 3:
            raise NoteError(f"verifier key {vkey!r} is not name+hash+key")
        name, hex_id, b64 = parts
        check_name(name)
        raw = b64decode(b64, "verifier key")
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise NoteError("verifier key is not an Ed25519 key (0x01 followed by 32 bytes)")
        if len(hex_id) != 8 or key_hash(name, raw[1:]).hex() != hex_id:
            raise NoteError(f"verifier key hash {hex_id} does not match the key and name")
        return cls(name, bytes.fromhex(hex_id), Ed25519PublicKey.from_public_bytes(raw[1:]))

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            self.public_key.verify(signature, message)
            return True
        except InvalidSignature:
            return False


@dataclass(frozen=True)
class Signer:
    name: str
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> Signer:
        return cls(check_name(name), Ed25519PrivateKey.generate())

    @classmethod
    def from_key_string(cls, text: str) -> Signer:
        """Parses ``PRIVATE+KEY+<name>+<8 hex hash>+<base64(0x01 || 32-byte seed)>``."""
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("signer key is not PRIVATE+KEY+name+hash+key")
        name, hex_id, b64 = parts[2:]
        raw = b64decode(b64, "signer key")
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise NoteError("signer key is not an Ed25519 key")
        signer = cls(check_name(name), Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if signer.key_id.hex() != hex_id:
            raise NoteError("signer key hash does not match the key and name")
        return signer

    @property
    def public_bytes(self) -> bytes:
        return self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def key_id(self) -> bytes:
        return key_hash(self.name, self.public_bytes)

    @property
    def key_string(self) -> str:
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        seed = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        b64 = base64.b64encode(bytes([ALG_ED25519]) + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{b64}"

    @property
    def vkey(self) -> str:
        b64 = base64.b64encode(bytes([ALG_ED25519]) + self.public_bytes).decode()
        return f"{self.name}+{self.key_id.hex()}+{b64}"

    @property
    def verifier(self) -> Verifier:
        return Verifier.from_vkey(self.vkey)

    def signature_line(self, text: str) -> str:
        sig = self.private_key.sign(text.encode("utf-8"))
        return f"{SIG_PREFIX}{self.name} {base64.b64encode(self.key_id + sig).decode()}\n"


def sign_note(text: str, signers: list[Signer]) -> str:
    if not text.endswith("\n"):
        raise NoteError("note text must end in a newline")
    if "\n\n" in text:
        raise NoteError("note text must not contain a blank line")
    if not signers:
        raise NoteError("a note needs at least one signer")
    return text + "\n" + "".join(s.signature_line(text) for s in signers)


def open_note(note: str, verifiers: list[Verifier]) -> tuple[str, list[str]]:
    """Returns (text, names of keys that verified). Unknown keys' signatures are ignored."""
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise NoteError("malformed note: no blank line before the signatures")
    text, sig_block = note[: split + 1], note[split + 2 :]
    known = {(v.name, v.key_id): v for v in verifiers}
    verified: list[str] = []
    for line in sig_block.splitlines():
        if not line.startswith(SIG_PREFIX):
            raise NoteError(f"malformed signature line {line!r}")
        fields = line[len(SIG_PREFIX) :].split(" ")
        if len(fields) != 2:
            raise NoteError(f"malformed signature line {line!r}")
        name, b64 = fields
        raw = b64decode(b64, "signature")
        if len(raw) < 5:
            raise NoteError("signature is too short")
        verifier = known.get((name, raw[:4]))
        if verifier is None:
            continue
        if not verifier.verify(text.encode("utf-8"), raw[4:]):
            raise NoteError(
                f"invalid signature by {name}: the note was altered or the key is wrong"
            )
        verified.append(name)
    if not verified:
        raise NoteError("no signature on the note is from a known key")
    return text, verified
