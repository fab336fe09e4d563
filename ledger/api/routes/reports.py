"""/api/reports: the JCT 6103(p)(3)(C) table, a notice order's transmissions and the stays'
transmissions (auditors only).

The same reports as `ledger report`, from the same code (``ledger.ops.reports``).
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from ledger.api.auth import Auditor
from ledger.api.context import Db, context, returned
from ledger.api.models import OrderReport, P3CReport, StaysReport
from ledger.ops.order_reports import order_json, order_report, stays_json, stays_report
from ledger.ops.reports import p3c_json, p3c_report

router = APIRouter()
Year = Annotated[int, Query(ge=1900, le=2200, description="Calendar year in LEDGER_TIMEZONE")]


@router.get("/api/reports/p3c", response_model=P3CReport)
def p3c(
    request: Request, who: Auditor, conn: Db, year: Year, source: str | None = None
) -> dict[str, Any]:
    api = context(request)
    report = p3c_report(conn, year, api.ledger.settings.timezone, api.registry, source)
    returned(request, len(report.rows) - 2)
    return p3c_json(report)


@router.get("/api/reports/orders/{order_id}", response_model=OrderReport)
def order(request: Request, who: Auditor, conn: Db, order_id: str) -> dict[str, Any]:
    report = order_report(conn, order_id, context(request).rules)
    returned(request, len(report.lines))
    return order_json(report)


@router.get("/api/reports/stays", response_model=StaysReport)
def stays(request: Request, who: Auditor, conn: Db, order_id: str | None = None) -> dict[str, Any]:
    """Every stay and injunction (or the one ``order_id`` names) and what was sent while it
    stood, as `ledger report stays` gives it."""
    reports = stays_report(conn, context(request).rules, order_id)
    returned(request, sum(len(r.lines) for r in reports))
    return stays_json(reports)
