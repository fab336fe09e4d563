"""The API's one table from error class to HTTP status, and the lookup its handlers use.

A class the table leaves out answers as its nearest mapped ancestor does; an error nothing maps
is a 500. A witness refusal means what the witness server answers (one table for the two).
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
from ledger.ops.export_select import ExportRefusedError
from ledger.ops.proofs import ProofUnavailableError
from ledger.ops.reports import ReportArgumentError, UnknownOrderError
from ledger.safe_files import InputRefusedError, InputTooDeepError
from ledger.store.alert_pages import BadCursorError
from ledger.store.connection import DatabaseRefusedError
from ledger.tlog.tiles import EntryTooLargeError, TilePathError
from ledger.witness.statuses import REFUSAL_STATUSES

HTTP_STATUSES: dict[type[Exception], int] = {
    # The server is misconfigured or a service is down, not the request: try again later.
    ConfigError: 503,
    ServiceError: 503,
    CodecError: 422,
    EventValidationError: 422,
    VerificationError: 422,
    ExportRefusedError: 422,
    ReportArgumentError: 422,
    QueryError: 422,
    BadCursorError: 422,
    InputRefusedError: 422,
    InputTooDeepError: 422,
    DatabaseRefusedError: 422,  # the data in the request, not the database
    ProofUnavailableError: 404,
    UnknownOrderError: 404,
    TilePathError: 400,
    EntryTooLargeError: 501,  # the tlog-tiles format cannot carry the entry
    **REFUSAL_STATUSES,
}


def http_status_of(exc: BaseException) -> int:
    """The status the API answers ``exc`` with: its nearest mapped class's, else 500."""
    return nearest(HTTP_STATUSES, type(exc), 500)
