"""Keeps taxpayer identifiers out of the ledger: keyed hashes for TINs, SSN/ITIN/EIN detection."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from pathlib import Path

from ledger.config import Settings
from ledger.errors import ConfigError, EventValidationError
from ledger.local_secrets import configured_or_local, generate_taxpayer_key
from ledger.safe_files import read_bytes

# Nine digits not inside a longer run (or a longer dashed identifier): bare, in the SSN/ITIN
# shape 3-2-4 with dashes, dots or a space between the groups (mixed too: "123 45-6789"), or in
# the EIN shape 2-7 with a dash or a space. Not counted: an EIN-like "12.3456789" (a decimal
# number, e.g. a latitude); phone numbers (3-3-4: "202 555 0143", "202.555.0143"); dates
# ("2025-08-07", "07.08.2025"); ZIP+4 ("20001-1234"); docket numbers ("1:25-cv-01234").
# \d is any Unicode decimal digit on purpose: full-width digits spell a TIN as well.
# Written as "a digit not preceded by a digit or dash, then the rest of each shape" rather than
# "(?<![\d-])(?:\d{3}SEP\d{2}SEP\d{4}|\d{2}[-\s]\d{7}|\d{9})(?![\d-])": the same matches (a
# unit test holds them equal), but a pattern that starts with \d lets the regex engine skip to
# the next digit in C instead of trying the lookbehind at every character: 3x faster on intake's
# free text, where most characters are letters.
_SEP = r"[-.\s]"
_TIN_SHAPED = re.compile(
    rf"\d(?<![\d-]\d)(?:\d{{2}}{_SEP}\d{{2}}{_SEP}\d{{4}}|\d[-\s]\d{{7}}|\d{{8}})(?![\d-])"
)
_TIN_SEPARATORS = re.compile(r"[-.\s]")
_TAXPAYER_REF = re.compile(r"[0-9a-f]{64}")
MIN_KEY_BYTES = 32


def contains_tin_shape(text: str) -> bool:
    return _TIN_SHAPED.search(text) is not None


def is_tin_shaped(text: str) -> bool:
    """The whole text is a TIN (bare, or with dashes, dots or spaces between the groups)."""
    return _TIN_SHAPED.fullmatch(text) is not None


def normalize_tin(tin: str) -> str:
    """ASCII digits only, so '123-45-6789', '123.45.6789' and '123456789' hash the same."""
    digits = _TIN_SEPARATORS.sub("", tin)
    if len(digits) != 9 or not digits.isdecimal():
        raise EventValidationError("A taxpayer identification number must have exactly 9 digits.")
    return "".join(str(unicodedata.decimal(c)) for c in digits)  # full-width digits too


def taxpayer_ref(key: bytes, tin: str) -> str:
    """HMAC-SHA256(key, normalized TIN) as hex: the only form in which a TIN enters the ledger.

    Keyed, because an unsalted hash of a 9-digit number is reversed by trying all 10^9 values.
    """
    return hmac.new(key, normalize_tin(tin).encode("ascii"), hashlib.sha256).hexdigest()


def is_taxpayer_ref(value: str) -> bool:
    return _TAXPAYER_REF.fullmatch(value) is not None  # not match+$: that allows a final newline


def load_taxpayer_key(path: Path | None) -> bytes:
    """Reads the HMAC key from the file named by LEDGER_TAXPAYER_KEY_FILE (never from the repo)."""
    if path is None:
        raise ConfigError(
            "LEDGER_TAXPAYER_KEY_FILE is not set; it must name a file holding the taxpayer-ref "
            "HMAC key (at least 32 random bytes). Create one with `ledger keygen --taxpayer-key`."
        )
    try:
        key = read_bytes(path, what="taxpayer key file").strip()
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
