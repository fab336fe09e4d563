"""/api/notices and /api/court-orders: the stored records, refs withheld below the auditor."""

from fastapi import APIRouter, Request

from ledger.api.auth import Overseer
from ledger.api.context import Db, returned
from ledger.api.models import CourtOrders, Notices
from ledger.api.params import Limit, Offset
from ledger.api.refs import visible
from ledger.ops import record_pages
from ledger.ops.record_pages import PageRequest, RecordPage
from ledger.store.tokens import Principal

router = APIRouter()


@router.get("/api/notices", response_model=Notices)
def notices(
    request: Request, who: Overseer, conn: Db, limit: Limit = 500, offset: Offset = 0
) -> Notices:
    page = record_pages.notices(conn, PageRequest(limit, offset))
    return Notices(limit=limit, offset=offset, more=page.more, notices=_seen(request, who, page))


@router.get("/api/court-orders", response_model=CourtOrders)
def court_orders(
    request: Request, who: Overseer, conn: Db, limit: Limit = 500, offset: Offset = 0
) -> CourtOrders:
    page = record_pages.court_orders(conn, PageRequest(limit, offset))
    return CourtOrders(
        limit=limit, offset=offset, more=page.more, court_orders=_seen(request, who, page)
    )


def _seen(request: Request, who: Principal, page: RecordPage) -> list[dict[str, object]]:
    """The page's records, each as ``who`` may see it."""
    records = [visible(who, r) for r in page.records]
    returned(request, len(records))
    return records
