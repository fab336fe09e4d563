"""/api/disclosures: the disclosures themselves, filtered and paged (overseers and auditors)."""

from typing import Any

from fastapi import APIRouter, Request

from ledger.api.auth import Overseer
from ledger.api.context import Db, context, returned
from ledger.api.models import DisclosurePage
from ledger.api.params import Day, Limit, Offset
from ledger.ops.scope_filter import disclosure_filter
from ledger.store import queries

router = APIRouter()


@router.get("/api/disclosures", response_model=DisclosurePage)
def disclosures(
    request: Request,
    who: Overseer,
    conn: Db,
    recipient: str | None = None,
    authority: str | None = None,
    source: str | None = None,
    since: Day | None = None,
    until: Day | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    registry = context(request).registry
    wanted = disclosure_filter(
        conn, registry, recipient, authority, source, since, until, limit, offset
    )
    rows, total = queries.disclosures(conn, wanted)
    returned(request, len(rows))
    return {"total": total, "limit": limit, "offset": offset, "disclosures": rows}
