"""A scope as a person asks for one, checked and resolved the same way for every query.

The kind must be one the volumes count; a pair names both halves ('ICE under 6103(i)(2)'),
since half a pair matches no stored scope and would list nothing without saying why.
"""

from __future__ import annotations

from ledger.errors import QueryError
from ledger.rules.model import SCOPE_KINDS
from ledger.rules.registry import Registry
from ledger.rules.volume_book import PAIR_JOIN, pair_value

KIND_PROBLEM = "scope kind must be recipient, authority, pair or source"
HALF_PAIR = "a pair scope needs both a recipient and an authority ('RECIPIENT under AUTHORITY')"


def check_kind(kind: str | None) -> None:
    if kind is not None and kind not in SCOPE_KINDS:
        raise QueryError(KIND_PROBLEM)


def check_scope(kind: str, text: str | None) -> None:
    """``text`` (a scope of ``kind`` as typed) names a scope that can exist."""
    check_kind(kind)
    if kind == "pair" and text is not None:
        recipient, join, authority = text.partition(PAIR_JOIN)
        if not (join and recipient.strip() and authority.strip()):
            raise QueryError(HALF_PAIR)


def pair_of(recipient: str | None, authority: str | None) -> str | None:
    """The pair scope two halves name (None for neither); half a pair is refused."""
    if recipient is None and authority is None:
        return None
    if not (recipient and authority):
        raise QueryError(HALF_PAIR)
    return pair_value(recipient, authority)


def scope_value(registry: Registry, kind: str, text: str | None) -> str | None:
    """The stored scope value ``text`` names: 'Immigration and Customs Enforcement' is ICE."""
    check_scope(kind, text)
    return None if text is None else registry.scope_value(kind, text)
