"""/api/notices and /api/court-orders: the stored records, refs withheld below the auditor."""

from typing import Any

from fastapi import APIRouter, Request

from ledger.api.auth import Overseer
from ledger.api.context import Db, returned
from ledger.api.models import CourtOrders, Notices
from ledger.api.params import Limit, Offset
from ledger.api.refs import visible
from ledger.store import queries

router = APIRouter()


@router.get("/api/notices", response_model=Notices)
def notices(
    request: Request, who: Overseer, conn: Db, limit: Limit = 500, offset: Offset = 0
) -> dict[str, Any]:
    rows, more = queries.notice_page(conn, limit, offset)
    records = [visible(who, r) for r in rows]
    returned(request, len(records))
    return {"limit": limit, "offset": offset, "more": more, "notices": records}


@router.get("/api/court-orders", response_model=CourtOrders)
def court_orders(
    request: Request, who: Overseer, conn: Db, limit: Limit = 500, offset: Offset = 0
) -> dict[str, Any]:
    rows, more = queries.court_order_page(conn, limit, offset)
    records = [visible(who, r) for r in rows]
    returned(request, len(records))
    return {"limit": limit, "offset": offset, "more": more, "court_orders": records}
