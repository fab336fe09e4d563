"""/api/notices and /api/court-orders: the stored records, refs withheld below the auditor."""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request

from ledger.api.auth import Overseer
from ledger.api.context import Db, returned
from ledger.api.models import CourtOrders, Notices
from ledger.api.params import Limit, Offset
from ledger.api.refs import visible
from ledger.store import Connection, queries
from ledger.store.tokens import Principal

router = APIRouter()

RecordPage = Callable[[Connection, int, int], tuple[list[Any], bool]]


@router.get("/api/notices", response_model=Notices)
def notices(
    request: Request, who: Overseer, conn: Db, limit: Limit = 500, offset: Offset = 0
) -> dict[str, Any]:
    return _page(request, who, conn, "notices", queries.notice_page, limit, offset)


@router.get("/api/court-orders", response_model=CourtOrders)
def court_orders(
    request: Request, who: Overseer, conn: Db, limit: Limit = 500, offset: Offset = 0
) -> dict[str, Any]:
    return _page(request, who, conn, "court_orders", queries.court_order_page, limit, offset)


def _page(
    request: Request,
    who: Principal,
    conn: Connection,
    name: str,
    page: RecordPage,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """One page of stored records under ``name``, each as ``who`` may see it."""
    rows, more = page(conn, limit, offset)
    records = [visible(who, r) for r in rows]
    returned(request, len(records))
    return {"limit": limit, "offset": offset, "more": more, name: records}
