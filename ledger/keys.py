"""Signing key files: created mode 0600, several allowed (one key string per line) for rotation."""

from __future__ import annotations

from pathlib import Path

from ledger.config import Settings
from ledger.errors import ConfigError
from ledger.local_secrets import configured_or_local, write_private
from ledger.safe_files import read_text, why
from ledger.tlog.note import Signer, Verifier


def generate_key_file(path: Path, name: str) -> Signer:
    signer = Signer.generate(name)
    write_private(path, signer.key_string + "\n", "signing key")
    return signer


def _lines(path: Path) -> list[str]:
    try:
        text = read_text(path, what="signing key file")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read signing key file {path}: {why(exc)}.") from exc
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


DEFAULT_KEY_NAME = "disclosure-ledger"


def signing_key_path(settings: Settings) -> Path:
    """LEDGER_SIGNING_KEY_FILE, or (local use only) a key generated once in the data directory."""
    return configured_or_local(
        settings.signing_key_file,
        settings.data_dir,
        "checkpoint-signing.key",
        lambda path: generate_key_file(path, DEFAULT_KEY_NAME),
    )


def origin_for(settings: Settings, log_id: str) -> str:
    """``<LEDGER_LOG_ORIGIN>/<topic>/<partition>``; log ids are already ``<topic>/<partition>``."""
    return f"{settings.log_origin}/{log_id}"
