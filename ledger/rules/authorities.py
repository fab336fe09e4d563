"""Legal authority citations: normalised for comparison, checked against a registry."""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=4096)
def normalize_authority(citation: str) -> str:
    """'26 usc §6103 (i)(2)' and '26 U.S.C. 6103(i)(2)' compare equal: case, spacing, § and dots."""
    text = citation.lower().replace("§", " ").replace(".", "")
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"\s*\(\s*", "(", text).replace(" )", ")")


def same_authority(a: str, b: str) -> bool:
    return normalize_authority(a) == normalize_authority(b)
