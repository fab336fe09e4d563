"""Typed errors with plain-English diagnostics, and every exit code the `ledger` command uses.

The CLI exits with ``exit_code`` and the API answers with ``http_status``; both are read from
the error, never decided at a call site.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """Every documented exit status of `ledger` (docs/operator.md, "Exit codes")."""

    OK = 0
    ERROR = 1
    USAGE = 2  # a bad argument or setting
    SERVICE = 3  # Kafka or PostgreSQL unreachable, or a local service failed
    CODEC = 4  # bytes are not a ledger event
    INVALID_EVENT = 5  # an event does not fit its schema or a privacy rule
    VERIFICATION = 6  # a proof, signature or checkpoint does not verify
    PROOF_UNAVAILABLE = 7  # no such entry, or no checkpoint covers it yet
    GAP = 10  # `ledger verify` findings, in order of precedence ...
    CONTENT_MISMATCH = 11
    BROKEN_LINKAGE = 12
    KAFKA_MISMATCH = 13
    CHECKPOINT_SIGNATURE = 14
    CHECKPOINT_MISMATCH = 15
    UNACCOUNTED_OFFSET = 16  # an offset is neither an entry, a dead letter nor a redelivery
    REUSED_EVENT_ID = 17  # an event id was written again with other bytes (verify and replay)
    REPLAY_DIFFERS = 20  # `ledger replay` rebuilt something different from the live tables
    BUNDLE_FILES = (
        30  # `ledger verify-bundle`: a file differs from SHA256SUMS, is missing or unlisted
    )
    BUNDLE_ENTRY = 31  # an exported entry's bytes do not give its leaf hash, or it is malformed
    BUNDLE_PROOF = 32  # an inclusion or consistency proof does not lead to its checkpoint's root
    BUNDLE_CHECKPOINT = 33  # a checkpoint is malformed or not signed by any given key
    BUNDLE_ALERTS = 34  # an alert cites an entry the bundle does not hold
    BUNDLE_SCHEMA = 35  # an entry was not written with any schema the bundle ships
    BUNDLE_MANIFEST = 36  # manifest.json is malformed or disagrees with the files
    BUNDLE_PROFILE = 37  # the bundle holds what its profile forbids (bytes in a public bundle)
    BUNDLE_SIGNATURE = 38  # SHA256SUMS.note is missing, unsigned by a given key, or not the files
    TOO_FEW_COSIGNATURES = 40  # `verify-proof --min-witnesses N`: fewer than N witnesses cosigned
    INPUT_REFUSED = 50  # an input file is a symlink, FIFO, device or over its size cap
    INPUT_TOO_DEEP = 51  # JSON nested deeper than the ledger reads
    INTERRUPTED = 130


class LedgerError(Exception):
    """Root of every error the ledger raises on purpose.

    ``exit_code`` is what the CLI exits with and ``http_status`` what the API answers; subclasses
    pick distinct codes so scripts can tell failures apart.
    """

    exit_code: int = ExitCode.ERROR
    http_status: int = 500

    def __init_subclass__(
        cls, *, exit_code: int | None = None, http_status: int | None = None, **kwargs: Any
    ) -> None:
        """A subclass names its codes where it is declared (``class E(LedgerError,
        exit_code=..., http_status=...)``); one it leaves out it inherits."""
        super().__init_subclass__(**kwargs)
        if exit_code is not None:
            cls.exit_code = exit_code
        if http_status is not None:
            cls.http_status = http_status

    def diagnostics(self) -> str:
        """One paragraph a person can act on."""
        return str(self)


class ConfigError(LedgerError, exit_code=ExitCode.USAGE, http_status=503):
    """A setting is missing or malformed (a 503: the server is misconfigured, not the request)."""


class ServiceError(LedgerError, exit_code=ExitCode.SERVICE, http_status=503):
    """A local service (Kafka, PostgreSQL) could not be started, found or stopped."""


class CodecError(LedgerError, exit_code=ExitCode.CODEC, http_status=422):
    """Bytes are not a valid single-object-encoded ledger event."""


class UnknownSchemaError(CodecError):
    """The message names a schema fingerprint the ledger does not know."""


class UnstorableEventError(CodecError):
    """A well-formed message holds a value the ledger cannot store (NUL, out-of-range time)."""


class EventValidationError(LedgerError, exit_code=ExitCode.INVALID_EVENT, http_status=422):
    """An event does not fit its schema or breaks a privacy rule."""


class VerificationError(LedgerError, exit_code=ExitCode.VERIFICATION, http_status=422):
    """A hash, proof, signature or checkpoint does not verify."""


class QueryError(LedgerError, exit_code=ExitCode.USAGE, http_status=422):
    """A query asks for something no listing can answer: a scope kind that does not exist, half
    a pair, a cursor no listing gave out."""
