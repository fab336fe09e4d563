"""Legal authority citations: 26 U.S.C. 6103 citations to canonical ids and their families."""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from importlib import resources

from ledger.rules.names import ascii_lookalikes, fold

# Title-26 prefixes a citation may carry before the section number, spelled any which way once
# case, dots and section signs are gone: "26 U.S.C. §", "26 USC", "IRC §", "I.R.C.", "Section".
_PREFIX = re.compile(r"^(26\s*usc|irc|internal revenue code|title 26|section|sec|s)(?![a-z])\s*")
_SECTION = re.compile(r"^6103((?:\([a-z0-9]+\))*)$")
_PART = re.compile(r"\(([a-z0-9]+)\)")


@lru_cache(maxsize=4096)
def normalize_authority(citation: str) -> str:
    """'26 usc §6103 (i)(2)' and '26 U.S.C. 6103(i)(2)' compare equal: case, spacing, § and dots;
    so do full-width or invisible characters and Cyrillic or Greek look-alike letters."""
    text = ascii_lookalikes(fold(citation).lower()).replace("§", " ").replace(".", "")
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"\s*\(\s*", "(", text).replace(" )", ")")


def _render(depth: int, part: str) -> str:
    # The statute's own case by level: subsection (i), paragraph (2), subparagraph (A),
    # clause (ii), subclause (II).
    return part.upper() if depth in (2, 4) else part


@lru_cache(maxsize=4096)
def citation_family(citation: str) -> tuple[str, ...]:
    """('6103(i)(2)(A)', '6103(i)(2)', '6103(i)') for any spelling of 6103(i)(2)(A); () when the
    text is not a citation of a 6103 subsection."""
    text = normalize_authority(citation)
    while True:
        stripped = _PREFIX.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    match = _SECTION.match(text.replace(" ", ""))
    if match is None or not match.group(1):
        return ()
    parts = [_render(depth, p) for depth, p in enumerate(_PART.findall(match.group(1)))]
    return tuple("6103" + "".join(f"({p})" for p in parts[:n]) for n in range(len(parts), 0, -1))


@lru_cache(maxsize=1)
def statute() -> dict[str, tuple[str, ...]]:
    """The provisions under each provision of 6103 that the ledger checks (data/statute_6103.toml)."""
    text = resources.files("ledger.rules").joinpath("data/statute_6103.toml").read_text("utf-8")
    return {key: tuple(labels) for key, labels in tomllib.loads(text).items()}


@lru_cache(maxsize=4096)
def in_statute(canonical: str) -> bool:
    """Whether a canonical 6103 citation ('6103(i)(2)(A)') names a provision that exists, as far
    as the shipped table checks: every label must be one its parent has."""
    match = _SECTION.match(canonical.lower())
    if match is None:
        return False
    table = statute()
    parent = "6103"
    for depth, part in enumerate(_PART.findall(match.group(1))):
        label = _render(depth, part)
        children = table.get(parent)
        if children is not None and label not in children:
            return False
        parent = f"{parent}({label})"
    return True
