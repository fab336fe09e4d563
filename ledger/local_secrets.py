"""Secret files: the one the environment names, or (local use only) one generated once."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from ledger.errors import ConfigError


def configured_or_local(
    configured: Path | None, data_dir: Path, filename: str, create: Callable[[Path], object]
) -> Path:
    """``configured`` when set; else ``<data_dir>/keys/<filename>``, made by ``create`` if absent."""
    if configured is not None:
        return configured
    path = data_dir / "keys" / filename
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        create(path)
    return path


def configured_or_existing(configured: Path | None, data_dir: Path, filename: str) -> Path | None:
    """``configured`` when set; else ``<data_dir>/keys/<filename>`` if it exists; else None.

    For readers of a secret that must never be made up on the spot: a new taxpayer-ref key would
    silently find no taxpayer at all.
    """
    if configured is not None:
        return configured
    path = data_dir / "keys" / filename
    return path if path.exists() else None


def write_private(path: Path, text: str, what: str = "secret") -> None:
    """Creates ``path`` readable by its owner only; never overwrites an existing secret."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise ConfigError(f"{path} already exists; refusing to overwrite a {what}.") from exc
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def generate_taxpayer_key(path: Path) -> None:
    """A random 32-byte HMAC key for taxpayer refs, as hex."""
    write_private(path, secrets.token_hex(32) + "\n", "taxpayer-ref key")
