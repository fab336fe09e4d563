"""Keeps taxpayer identifiers out of the ledger: keyed hashes for TINs, SSN/ITIN/EIN detection."""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

from ledger.config import Settings
from ledger.errors import ConfigError, EventValidationError
from ledger.local_secrets import configured_or_local, generate_taxpayer_key

# Nine digits not inside a longer run, bare or in the SSN/ITIN (3-2-4) or EIN (2-7) shapes.
_TIN_SHAPED = re.compile(r"(?<![\d-])(?:\d{3}-\d{2}-\d{4}|\d{2}-\d{7}|\d{9})(?![\d-])")
_TAXPAYER_REF = re.compile(r"^[0-9a-f]{64}$")
MIN_KEY_BYTES = 32


def contains_tin_shape(text: str) -> bool:
    return _TIN_SHAPED.search(text) is not None


def is_tin_shaped(text: str) -> bool:
    """The whole text is a TIN (bare or dashed)."""
    return _TIN_SHAPED.fullmatch(text) is not None


def normalize_tin(tin: str) -> str:
    """Digits only, so '123-45-6789' and '123456789' hash the same."""
    digits = re.sub(r"[\s-]", "", tin)
    if not re.fullmatch(r"\d{9}", digits):
        raise EventValidationError("A taxpayer identification number must have exactly 9 digits.")
    return digits


def taxpayer_ref(key: bytes, tin: str) -> str:
    """HMAC-SHA256(key, normalized TIN) as hex: the only form in which a TIN enters the ledger.

    Keyed, because an unsalted hash of a 9-digit number is reversed by trying all 10^9 values.
    """
    return hmac.new(key, normalize_tin(tin).encode("ascii"), hashlib.sha256).hexdigest()


def is_taxpayer_ref(value: str) -> bool:
    return _TAXPAYER_REF.match(value) is not None


def load_taxpayer_key(path: Path | None) -> bytes:
    """Reads the HMAC key from the file named by LEDGER_TAXPAYER_KEY_FILE (never from the repo)."""
    if path is None:
        raise ConfigError(
            "LEDGER_TAXPAYER_KEY_FILE is not set; it must name a file holding the taxpayer-ref "
            "HMAC key (at least 32 random bytes). Create one with `ledger keygen --taxpayer-key`."
        )
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise ConfigError(f"Cannot read the taxpayer key file {path}: {exc.strerror}.") from exc
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(f"The taxpayer key in {path} is shorter than {MIN_KEY_BYTES} bytes.")
    return key


def taxpayer_key_path(settings: Settings) -> Path:
    """LEDGER_TAXPAYER_KEY_FILE, or (local use only) a random key generated once in the data dir."""
    return configured_or_local(
        settings.taxpayer_key_file, settings.data_dir, "taxpayer-ref.key", generate_taxpayer_key
    )
