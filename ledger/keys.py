"""Signing key files: created mode 0600, several allowed (one key string per line) for rotation."""

from __future__ import annotations

from pathlib import Path

from ledger.errors import ConfigError
from ledger.local_secrets import write_private
from ledger.tlog.note import Signer, Verifier


def generate_key_file(path: Path, name: str) -> Signer:
    signer = Signer.generate(name)
    write_private(path, signer.key_string + "\n", "signing key")
    return signer


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"Cannot read signing key file {path}: {exc.strerror}.") from exc
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def load_signers(path: Path) -> list[Signer]:
    """Every key in the file signs new checkpoints; old keys' lines may be kept as vkeys."""
    signers = [
        Signer.from_key_string(line) for line in _lines(path) if line.startswith("PRIVATE+KEY+")
    ]
    if not signers:
        raise ConfigError(f"{path} holds no PRIVATE+KEY line.")
    return signers


def load_verifiers(path: Path) -> list[Verifier]:
    """Public keys of every key in the file: private keys and retired keys kept as vkey lines."""
    out = []
    for line in _lines(path):
        if line.startswith("PRIVATE+KEY+"):
            out.append(Signer.from_key_string(line).verifier)
        else:
            out.append(Verifier.from_vkey(line))
    return out
