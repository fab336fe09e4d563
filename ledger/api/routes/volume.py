"""/api/volume: daily volume per scope beside its prior-year sum (every role)."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from ledger.api.auth import Public
from ledger.api.context import Db, context, returned
from ledger.api.models import VolumeSeries
from ledger.api.params import VOLUME_MAX, Day, Offset
from ledger.rules.model import SCOPE_KIND_PATTERN
from ledger.store import queries

router = APIRouter()


@router.get("/api/volume", response_model=VolumeSeries)
def volume(
    request: Request,
    who: Public,
    conn: Db,
    kind: Annotated[str, Query(pattern=SCOPE_KIND_PATTERN)] = "recipient",
    source: str | None = None,
    value: str | None = None,
    since: Day | None = None,
    until: Day | None = None,
    limit: Annotated[int, Query(ge=1, le=VOLUME_MAX)] = 1000,
    offset: Offset = 0,
) -> dict[str, Any]:
    registry = context(request).registry  # names as typed: 'Immigration and Customs Enforcement'
    source = None if source is None else registry.agency(source).id
    value = None if value is None else registry.scope_value(kind, value)
    rows = queries.volume_series(conn, kind, source, value, since, until, limit + 1, offset)
    more = len(rows) > limit
    returned(request, min(len(rows), limit))
    return {"kind": kind, "limit": limit, "offset": offset, "more": more, "days": rows[:limit]}
