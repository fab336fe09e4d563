"""/metrics: Prometheus text for every role, rendered at most once per METRICS_TTL."""

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from ledger.api.auth import Public
from ledger.api.context import Db, context
from ledger.ops.metrics import render_metrics

router = APIRouter()


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request, who: Public, conn: Db) -> str:
    ctx = context(request)
    return ctx.metrics.get(lambda: render_metrics(conn, ctx.ledger, ctx.started))
