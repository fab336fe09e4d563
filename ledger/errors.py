"""Typed errors with plain-English diagnostics the CLI prints instead of a traceback."""

from __future__ import annotations


class LedgerError(Exception):
    """Root of every error the ledger raises on purpose.

    ``exit_code`` is what the CLI exits with; subclasses pick distinct codes so scripts can tell
    failures apart.
    """

    exit_code = 1

    def diagnostics(self) -> str:
        """One paragraph a person can act on."""
        return str(self)


class ConfigError(LedgerError):
    """A setting is missing or malformed."""

    exit_code = 2


class ServiceError(LedgerError):
    """A local service (Kafka, PostgreSQL) could not be started, found or stopped."""

    exit_code = 3


class CodecError(LedgerError):
    """Bytes are not a valid single-object-encoded ledger event."""

    exit_code = 4


class UnknownSchemaError(CodecError):
    """The message names a schema fingerprint the ledger does not know."""


class UnstorableEventError(CodecError):
    """A well-formed message holds a value the ledger cannot store (NUL, out-of-range time)."""


class EventValidationError(LedgerError):
    """An event does not fit its schema or breaks a privacy rule."""

    exit_code = 5


class VerificationError(LedgerError):
    """A hash, proof, signature or checkpoint does not verify."""

    exit_code = 6
