"""Every error the ledger declares keeps the exit code and HTTP status it had when the codes were
class attributes: the edges' tables (ledger/cli/exit_codes.py, ledger/api/statuses.py,
ledger/witness/statuses.py) map each one, and none falls back to 1 or 500 by accident."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

import pytest

import ledger
from ledger.api.statuses import http_status_of
from ledger.cli.exit_codes import exit_code_of
from ledger.errors import LedgerError
from ledger.tlog.witness_protocol import WitnessRefusalError
from ledger.witness.statuses import refusal_status_of

# (exit code, HTTP status) of every LedgerError, as the class attributes gave them before the
# tables replaced them. A new error class fails test_every_error_is_in_the_table until its codes
# are decided here, on purpose.
EXPECTED: dict[str, tuple[int, int]] = {
    "ledger.access_log.AccessLogUnavailableError": (3, 503),
    "ledger.errors.CodecError": (4, 422),
    "ledger.errors.ConfigError": (2, 503),
    "ledger.errors.QueryError": (2, 422),
    "ledger.errors.EventValidationError": (5, 422),
    "ledger.errors.LedgerError": (1, 500),
    "ledger.errors.ServiceError": (3, 503),
    "ledger.errors.UnknownSchemaError": (4, 422),
    "ledger.errors.UnstorableEventError": (4, 422),
    "ledger.errors.VerificationError": (6, 422),
    "ledger.intake.BatchValidationError": (5, 422),
    "ledger.kafka.producer.OversizedEventsError": (5, 422),
    "ledger.ops.bundle_tlog_proof.BundleEntryNotFoundError": (6, 422),
    "ledger.ops.emit_file.SendInterruptedError": (3, 503),
    "ledger.ops.emit_file.TakenIdError": (5, 422),
    "ledger.ops.export_select.ExportRefusedError": (2, 422),
    "ledger.ops.proofs.ProofUnavailableError": (7, 404),
    "ledger.ops.reports.ReportArgumentError": (2, 422),
    "ledger.ops.reports.UnknownOrderError": (2, 404),
    "ledger.ops.taxpayer_index.IndexUnavailableError": (7, 404),
    "ledger.safe_files.InputRefusedError": (50, 422),
    "ledger.safe_files.InputTooDeepError": (51, 422),
    "ledger.store.alert_pages.BadCursorError": (2, 422),
    "ledger.store.connection.DatabaseRefusedError": (1, 422),
    "ledger.store.connection.DatabaseUnavailableError": (3, 503),
    "ledger.store.entries.EntryConflictError": (1, 500),
    "ledger.tlog.accounting_check.AccountingProofError": (6, 422),
    "ledger.tlog.bundle_check.BundleAlertsError": (34, 422),
    "ledger.tlog.bundle_check.BundleCheckpointError": (33, 422),
    "ledger.tlog.bundle_check.BundleEntryError": (31, 422),
    "ledger.tlog.bundle_check.BundleFilesError": (30, 422),
    "ledger.tlog.bundle_check.BundleManifestError": (36, 422),
    "ledger.tlog.bundle_check.BundleProfileError": (37, 422),
    "ledger.tlog.bundle_check.BundleProofError": (32, 422),
    "ledger.tlog.bundle_check.BundleSchemaError": (35, 422),
    "ledger.tlog.bundle_check.BundleSignatureError": (38, 422),
    "ledger.tlog.checkpoint.CheckpointError": (6, 422),
    "ledger.tlog.cosignature.TooFewCosignaturesError": (40, 422),
    "ledger.tlog.index_log_check.IndexLogBundleError": (33, 422),
    "ledger.tlog.merkle.ProofError": (6, 422),
    "ledger.tlog.mpt.MPTLookupError": (6, 422),
    "ledger.tlog.mpt.MPTPathError": (6, 422),
    "ledger.tlog.mpt.MPTProofError": (6, 422),
    "ledger.tlog.note.NoteError": (6, 422),
    "ledger.tlog.taxpayer_index.IndexAnswerError": (6, 422),
    "ledger.tlog.tiles.EntryTooLargeError": (1, 501),
    "ledger.tlog.tiles.TilePathError": (1, 400),
    "ledger.tlog.tlog_proof.TlogProofError": (6, 422),
    "ledger.tlog.witness_protocol.ForkedRootError": (1, 409),
    "ledger.tlog.witness_protocol.InconsistentProofError": (1, 422),
    "ledger.tlog.witness_protocol.MalformedRequestError": (1, 400),
    "ledger.tlog.witness_protocol.StaleOldSizeError": (1, 409),
    "ledger.tlog.witness_protocol.UnknownLogError": (1, 404),
    "ledger.tlog.witness_protocol.UntrustedSignatureError": (1, 403),
    "ledger.tlog.witness_protocol.WitnessRefusalError": (1, 400),
    "ledger.webhooks.WebhookVerificationError": (6, 422),
}


def _subclasses(cls: type[LedgerError]) -> Iterator[type[LedgerError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def declared_errors() -> dict[str, type[LedgerError]]:
    """Every LedgerError class in the package, once all its modules are imported."""
    for module in pkgutil.walk_packages(ledger.__path__, "ledger."):
        if not module.name.endswith("__main__"):  # running it would start the CLI
            importlib.import_module(module.name)
    found = [LedgerError, *_subclasses(LedgerError)]
    return {f"{c.__module__}.{c.__qualname__}": c for c in found}


ERRORS = declared_errors()


def _instance(cls: type[LedgerError]) -> LedgerError:
    # Some errors take more than a message (StaleOldSizeError's known_size); the lookups need
    # only the class.
    return cls.__new__(cls)


def test_every_error_is_in_the_table() -> None:
    assert sorted(ERRORS) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exit_code_and_http_status_are_unchanged(name: str) -> None:
    error = _instance(ERRORS[name])
    assert (exit_code_of(error), http_status_of(error)) == EXPECTED[name]


@pytest.mark.parametrize(
    "name", sorted(n for n, c in ERRORS.items() if issubclass(c, WitnessRefusalError))
)
def test_the_witness_answers_each_refusal_with_its_status(name: str) -> None:
    assert refusal_status_of(_instance(ERRORS[name])) == EXPECTED[name][1]


def test_errors_carry_no_codes() -> None:
    carrying = [
        name
        for name, cls in ERRORS.items()
        if any(hasattr(cls, a) for a in ("exit_code", "http_status", "status_code"))
    ]
    assert carrying == []


def test_an_unmapped_error_falls_back() -> None:
    class UnmappedError(Exception):
        pass

    assert (exit_code_of(UnmappedError()), http_status_of(UnmappedError())) == (1, 500)
    assert refusal_status_of(UnmappedError()) == 500
