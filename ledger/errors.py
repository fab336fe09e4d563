"""Typed errors with plain-English diagnostics: one class hierarchy, and nothing else on it.

An error says what went wrong, never how an edge reports it. Each edge keeps one table from
error class to its own code, looked up along the error's MRO with ``nearest``: the CLI's exit
codes (``ledger.cli.exit_codes``), the API's HTTP statuses (``ledger.api.statuses``) and the
witness's refusal statuses (``ledger.witness.statuses``). So the pure layers (``tlog/``,
``rules/``) raise errors without knowing a shell or HTTP exists, and a call site never picks a
code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


class LedgerError(Exception):
    """Root of every error the ledger raises on purpose; its message is one line a person can
    act on."""

    def diagnostics(self) -> str:
        """One paragraph a person can act on."""
        return str(self)


class ConfigError(LedgerError):
    """A setting is missing or malformed."""


class ServiceError(LedgerError):
    """A local service (Kafka, PostgreSQL) could not be started, found or stopped."""


class CodecError(LedgerError):
    """Bytes are not a valid single-object-encoded ledger event."""


class UnknownSchemaError(CodecError):
    """The message names a schema fingerprint the ledger does not know."""


class UnstorableEventError(CodecError):
    """A well-formed message holds a value the ledger cannot store (NUL, out-of-range time)."""


class EventValidationError(LedgerError):
    """An event does not fit its schema or breaks a privacy rule."""


class VerificationError(LedgerError):
    """A hash, proof, signature or checkpoint does not verify."""


class QueryError(LedgerError):
    """A query asks for something no listing can answer: a scope kind that does not exist, half
    a pair, a cursor no listing gave out."""


def nearest(table: Mapping[type[Exception], T], error: type[BaseException], fallback: T) -> T:
    """What ``table`` maps the nearest class in ``error``'s MRO to (a subclass the table leaves
    out answers as its parent does), or ``fallback`` when it maps none of them."""
    for cls in error.__mro__:
        if issubclass(cls, Exception) and cls in table:
            return table[cls]
    return fallback
