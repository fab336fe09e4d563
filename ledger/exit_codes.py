"""Every exit status the `ledger` command documents (docs/operator.md, "Exit codes").

Only the edges use these: the CLI's table of which error exits with which code
(``ledger.cli.exit_codes``) and ``ledger verify``'s findings. Errors themselves carry none.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Every documented exit status of `ledger`."""

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
