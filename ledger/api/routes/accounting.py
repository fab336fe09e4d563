"""/api/accounting: the Privacy Act accounting of one taxpayer's disclosures (auditors only).

The TIN arrives in the body, is turned into the keyed ref the ledger stores, and is never
recorded: the access record says only which kind of request it was.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from ledger.api.auth import Auditor
from ledger.api.context import Db, context, returned
from ledger.api.models import Accounting, AccountingRequest
from ledger.api.statuses import http_status_of
from ledger.errors import LedgerError
from ledger.local_secrets import configured_or_existing
from ledger.ops.taxpayer_index import index_answer, indexer_for
from ledger.privacy import load_taxpayer_key, taxpayer_ref
from ledger.rules.reports import BASIS, accounting_coverage
from ledger.safe_files import InputTooDeepError, loads_json
from ledger.store import queries
from ledger.store.reports import unlisted

router = APIRouter()
REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": AccountingRequest.model_json_schema()}},
    }
}


async def accounting_request(request: Request, who: Auditor) -> AccountingRequest:
    # Read only once the token and role passed; capped at MAX_BODY by the recorder.
    returned(request, 0, {"kind": "privacy-act-accounting"})  # the TIN is never recorded
    raw = await request.body()
    try:
        data = loads_json(raw, "body")
    except (ValueError, UnicodeDecodeError):
        data = None
    except (RecursionError, InputTooDeepError):  # "[[[[..." within the 16 KiB cap: named, no 500
        raise HTTPException(
            422, 'body: JSON nested too deeply (the body is {"tin": "..."})'
        ) from None
    if not isinstance(data, dict):
        raise RequestValidationError([{"loc": ("body",), "msg": "invalid", "type": "json"}])
    try:
        return AccountingRequest.model_validate(data)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_input=False)]
        raise RequestValidationError(errors) from None


@router.post("/api/accounting", response_model=Accounting, openapi_extra=REQUEST_BODY)
def accounting(
    request: Request, body: Annotated[AccountingRequest, Depends(accounting_request)], conn: Db
) -> dict[str, Any]:
    settings = context(request).ledger.settings
    # Never a key made up on the spot: it would silently find no taxpayer at all.
    key_file = configured_or_existing(
        settings.taxpayer_key_file, settings.data_dir, "taxpayer-ref.key"
    )
    try:
        ref = taxpayer_ref(load_taxpayer_key(key_file), body.tin)
    except LedgerError as exc:
        raise HTTPException(http_status_of(exc), exc.diagnostics()) from None
    rows = queries.accounting(conn, ref)
    answer = {"disclosures": rows, "coverage": accounting_coverage(len(rows), *unlisted(conn))}
    answer["basis"] = BASIS
    returned(request, len(rows))
    if not body.index_proof:
        return answer
    ledger = context(request).ledger
    return answer | {"index_proof": index_answer(conn, indexer_for(ledger), ref)}
