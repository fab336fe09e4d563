"""/api/disclosures: the disclosures themselves, filtered and paged (overseers and auditors)."""

from typing import Any

from fastapi import APIRouter, Request

from ledger.api.auth import Overseer
from ledger.api.context import Db, context, returned
from ledger.api.models import DisclosurePage
from ledger.api.params import DisclosureQuery
from ledger.ops.scope_filter import disclosure_filter
from ledger.store import queries

router = APIRouter()


@router.get("/api/disclosures", response_model=DisclosurePage)
def disclosures(
    request: Request, who: Overseer, conn: Db, asked: DisclosureQuery
) -> dict[str, Any]:
    wanted = disclosure_filter(conn, context(request).registry, asked)
    rows, total = queries.disclosures(conn, wanted)
    returned(request, len(rows))
    return {"total": total, "limit": asked.limit, "offset": asked.offset, "disclosures": rows}
