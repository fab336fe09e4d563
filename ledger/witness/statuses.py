"""The witness server's one table from refusal to HTTP status, as C2SP tlog-witness assigns them.

A refusal the table leaves out answers as its nearest mapped ancestor does (400, a bad request).
"""

from __future__ import annotations

from ledger.errors import nearest
from ledger.tlog.witness_protocol import (
    ForkedRootError,
    InconsistentProofError,
    MalformedRequestError,
    StaleOldSizeError,
    UnknownLogError,
    UntrustedSignatureError,
    WitnessRefusalError,
)

REFUSAL_STATUSES: dict[type[Exception], int] = {
    WitnessRefusalError: 400,
    MalformedRequestError: 400,
    UntrustedSignatureError: 403,
    UnknownLogError: 404,
    StaleOldSizeError: 409,  # the body then says the witness's latest size
    ForkedRootError: 409,
    InconsistentProofError: 422,
}


def refusal_status_of(exc: BaseException) -> int:
    """The status the witness answers ``exc`` with: its nearest mapped class's, else 500."""
    return nearest(REFUSAL_STATUSES, type(exc), 500)
