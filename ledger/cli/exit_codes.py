"""The CLI's one table from error class to exit code, and the lookup ``main`` uses.

A class the table leaves out exits as its nearest mapped ancestor does; an error nothing maps
exits 1. docs/operator.md ("Exit codes") documents the codes and scripts rely on them, so a code
once given does not change.
"""

from __future__ import annotations

from ledger.errors import (
    CodecError,
    ConfigError,
    EventValidationError,
    QueryError,
    ServiceError,
    VerificationError,
    nearest,
)
from ledger.exit_codes import ExitCode
from ledger.ops.export_select import ExportRefusedError
from ledger.ops.proofs import ProofUnavailableError
from ledger.ops.reports import ReportArgumentError
from ledger.safe_files import InputRefusedError, InputTooDeepError
from ledger.store.alert_pages import BadCursorError
from ledger.tlog.bundle_check import (
    BundleAlertsError,
    BundleCheckpointError,
    BundleEntryError,
    BundleFilesError,
    BundleManifestError,
    BundleProfileError,
    BundleProofError,
    BundleSchemaError,
    BundleSignatureError,
)
from ledger.tlog.cosignature import TooFewCosignaturesError

EXIT_CODES: dict[type[Exception], ExitCode] = {
    ConfigError: ExitCode.USAGE,
    ExportRefusedError: ExitCode.USAGE,
    ReportArgumentError: ExitCode.USAGE,
    QueryError: ExitCode.USAGE,
    BadCursorError: ExitCode.USAGE,
    ServiceError: ExitCode.SERVICE,
    CodecError: ExitCode.CODEC,
    EventValidationError: ExitCode.INVALID_EVENT,
    VerificationError: ExitCode.VERIFICATION,
    ProofUnavailableError: ExitCode.PROOF_UNAVAILABLE,
    # `ledger verify-bundle`: each kind of failure its own code, so a script can tell them apart.
    BundleFilesError: ExitCode.BUNDLE_FILES,
    BundleEntryError: ExitCode.BUNDLE_ENTRY,
    BundleProofError: ExitCode.BUNDLE_PROOF,
    BundleCheckpointError: ExitCode.BUNDLE_CHECKPOINT,
    BundleAlertsError: ExitCode.BUNDLE_ALERTS,
    BundleSchemaError: ExitCode.BUNDLE_SCHEMA,
    BundleManifestError: ExitCode.BUNDLE_MANIFEST,
    BundleProfileError: ExitCode.BUNDLE_PROFILE,
    BundleSignatureError: ExitCode.BUNDLE_SIGNATURE,
    TooFewCosignaturesError: ExitCode.TOO_FEW_COSIGNATURES,
    InputRefusedError: ExitCode.INPUT_REFUSED,
    InputTooDeepError: ExitCode.INPUT_TOO_DEEP,
}


def exit_code_of(exc: BaseException) -> int:
    """The exit code ``exc`` ends the command with: its nearest mapped class's, else 1."""
    return nearest(EXIT_CODES, type(exc), ExitCode.ERROR)
