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
from typing import Any, ClassVar, Self

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from ledger.errors import VerificationError

ALG_ED25519 = 0x01
SIG_PREFIX = "\u2014 "  # em dash and a space


class NoteError(VerificationError):
    """A note, key or signature is malformed or does not verify."""


def check_name(name: str) -> str:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")
    return name


def key_hash(name: str, public_key: bytes, alg: int = ALG_ED25519) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public_key).digest()[:4]


def b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError(f"{what} is not valid base64") from exc


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class KeyType:
    """One kind of Ed25519 key of the signed-note family, told apart by its signature-type byte
    (0x01 a note signer, 0x04 a cosignature/v1 witness): how its keys are written and read.

    A public key (vkey) is ``<name>+<8 hex key hash>+<base64(alg || 32-byte key)>``, a private
    one ``PRIVATE+KEY+<name>+<8 hex key hash>+<base64(alg || 32-byte seed)>``.
    """

    alg: int
    called: str  # how a message names a key of this type ("an Ed25519 key")
    public_called: str  # ... and its public key ("verifier key"),
    private_called: str  # ... and its private key ("signer key")

    def key_id(self, name: str, public_key: bytes) -> bytes:
        return key_hash(name, public_key, self.alg)

    def vkey(self, name: str, key: Ed25519PublicKey) -> str:
        raw = public_bytes(key)
        b64 = base64.b64encode(bytes([self.alg]) + raw).decode()
        return f"{name}+{self.key_id(name, raw).hex()}+{b64}"

    def key_string(self, name: str, key: Ed25519PrivateKey) -> str:
        seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        b64 = base64.b64encode(bytes([self.alg]) + seed).decode()
        return f"PRIVATE+KEY+{name}+{self.key_id(name, public_bytes(key.public_key())).hex()}+{b64}"

    def parse_vkey(self, vkey: str) -> tuple[str, bytes, Ed25519PublicKey]:
        """(name, key id, public key) of a vkey."""
        what = self.public_called
        parts = vkey.strip().split("+", 2)  # the base64 key itself may contain '+'
        if len(parts) != 3:
            raise NoteError(f"{what} {vkey!r} is not name+hash+key")
        name, hex_id, b64 = parts
        check_name(name)
        raw = self._key_bytes(b64, what)
        if len(hex_id) != 8 or self.key_id(name, raw).hex() != hex_id:
            raise NoteError(f"{what} hash {hex_id} does not match the key and name")
        return name, bytes.fromhex(hex_id), Ed25519PublicKey.from_public_bytes(raw)

    def parse_key_string(self, text: str) -> tuple[str, Ed25519PrivateKey]:
        """(name, private key) of a private key string."""
        what = self.private_called
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError(f"{what} is not PRIVATE+KEY+name+hash+key")
        name, hex_id, b64 = parts[2:]
        check_name(name)
        key = Ed25519PrivateKey.from_private_bytes(self._key_bytes(b64, what))
        if self.key_id(name, public_bytes(key.public_key())).hex() != hex_id:
            raise NoteError(f"{what} hash does not match the key and name")
        return name, key

    def _key_bytes(self, b64: str, what: str) -> bytes:
        raw = b64decode(b64, what)
        if len(raw) != 33 or raw[0] != self.alg:
            raise NoteError(f"{what} is not {self.called} (0x{self.alg:02x} followed by 32 bytes)")
        return raw[1:]


ED25519 = KeyType(ALG_ED25519, "an Ed25519 key", "verifier key", "signer key")


@dataclass(frozen=True)
class NamedKey:
    """A named key of one KeyType, which each concrete subclass names where it is declared
    (``class Signer(SigningKey, key_type=ED25519)``)."""

    key_type: ClassVar[KeyType]

    name: str

    def __init_subclass__(cls, *, key_type: KeyType | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if key_type is not None:
            cls.key_type = key_type


@dataclass(frozen=True)
class VerifyingKey(NamedKey):
    """A public key and its key id: what checks a signature, written as a vkey."""

    key_id: bytes
    public_key: Ed25519PublicKey

    @classmethod
    def from_vkey(cls, vkey: str) -> Self:
        """Parses ``<name>+<8 hex key hash>+<base64(alg || 32-byte public key)>``."""
        return cls(*cls.key_type.parse_vkey(vkey))

    @property
    def vkey(self) -> str:
        return self.key_type.vkey(self.name, self.public_key)


@dataclass(frozen=True)
class SigningKey(NamedKey):
    """A private key: what signs, written as a private key string."""

    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> Self:
        return cls(check_name(name), Ed25519PrivateKey.generate())

    @classmethod
    def from_key_string(cls, text: str) -> Self:
        """Parses ``PRIVATE+KEY+<name>+<8 hex hash>+<base64(alg || 32-byte seed)>``."""
        return cls(*cls.key_type.parse_key_string(text))

    @property
    def public_bytes(self) -> bytes:
        return public_bytes(self.private_key.public_key())

    @property
    def key_id(self) -> bytes:
        return self.key_type.key_id(self.name, self.public_bytes)

    @property
    def key_string(self) -> str:
        return self.key_type.key_string(self.name, self.private_key)

    @property
    def vkey(self) -> str:
        return self.key_type.vkey(self.name, self.private_key.public_key())


class Verifier(VerifyingKey, key_type=ED25519):
    """A note signer's public key (signature type 0x01)."""

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            self.public_key.verify(signature, message)
            return True
        except InvalidSignature:
            return False


class Signer(SigningKey, key_type=ED25519):
    """A note signer's private key (signature type 0x01)."""

    @property
    def verifier(self) -> Verifier:
        return Verifier.from_vkey(self.vkey)

    def signature_line(self, text: str) -> str:
        sig = self.private_key.sign(text.encode("utf-8"))
        return f"{SIG_PREFIX}{self.name} {base64.b64encode(self.key_id + sig).decode()}\n"


def split_note(note: str) -> tuple[str, list[str]]:
    """(body, signature lines) of a signed note."""
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise NoteError("malformed note: no blank line before the signatures")
    return note[: split + 1], note[split + 2 :].splitlines()


def signature_of(line: str) -> tuple[str, bytes]:
    """(key name, decoded signature bytes) of a signature line ``— <name> <base64>``."""
    if not line.startswith(SIG_PREFIX):
        raise NoteError(f"malformed signature line {line!r}")
    fields = line[len(SIG_PREFIX) :].rstrip("\n").split(" ")
    if len(fields) != 2:
        raise NoteError(f"malformed signature line {line!r}")
    return fields[0], b64decode(fields[1], "signature")


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
    text, lines = split_note(note)
    known = {(v.name, v.key_id): v for v in verifiers}
    verified: list[str] = []
    for line in lines:
        name, raw = signature_of(line)
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
