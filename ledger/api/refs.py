"""Taxpayer refs stay with the auditor: what every other role sees of a stored record."""

import re
from typing import Any

from ledger.api.auth import at_least
from ledger.store.tokens import Principal

WITHHELD = "[withheld: taxpayer refs are for the auditor role]"
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_DIGEST_FIELDS = frozenset({"manifest_sha256"})  # 64 hex digits by design, not a taxpayer ref


def withhold_refs(value: Any, key: str | None = None) -> tuple[Any, int]:
    """``value`` without taxpayer refs: ``taxpayer_refs`` lists dropped, any other text holding a
    64-hex run (a ref quoted in an amendment, say) replaced; returns the count withheld."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        withheld = 0
        for k, v in value.items():
            if k == "taxpayer_refs" and isinstance(v, list):
                withheld += len(v)
                continue
            out[k], n = withhold_refs(v, k)
            withheld += n
        return out, withheld
    if isinstance(value, list):
        items = [withhold_refs(v, key) for v in value]
        return [v for v, _ in items], sum(n for _, n in items)
    if isinstance(value, str) and key not in _DIGEST_FIELDS and _HEX64.search(value):
        return WITHHELD, 1
    return value, 0


def visible(who: Principal, record: Any) -> Any:
    """The record as ``who`` may see it."""
    return record if at_least(who, "auditor") else withhold_refs(record)[0]
