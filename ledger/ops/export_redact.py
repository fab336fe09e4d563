"""Taxpayer refs re-keyed per bundle, so two protective-order bundles cannot be joined.

Each ref (and any other 64-hex run in a text field, bar ``manifest_sha256``) becomes
HMAC-SHA256(bundle key, ref), the bundle key being 32 random bytes that are never written
anywhere. Within one bundle the same person keeps the same pseudonym (the expert can still count
people and see who recurs); across bundles the pseudonyms share nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_DIGEST_FIELDS = frozenset({"manifest_sha256"})  # 64 hex digits by design, not a taxpayer ref


class Rekeyer:
    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)

    def pseudonym(self, ref: str) -> str:
        return hmac.new(self._key, ref.lower().encode("ascii"), hashlib.sha256).hexdigest()

    def record(self, value: Any, key: str | None = None) -> Any:
        """``value`` (a decoded record, an alert) with every ref replaced by its pseudonym."""
        if isinstance(value, dict):
            return {k: self.record(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.record(v, key) for v in value]
        if isinstance(value, str) and key not in _DIGEST_FIELDS:
            return _HEX64.sub(lambda m: self.pseudonym(m.group(0)), value)
        return value
