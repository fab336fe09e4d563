"""/api/volume: daily volume per scope beside its prior-year sum (every role)."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from ledger.api.auth import Public
from ledger.api.context import Db, context, returned
from ledger.api.models import VolumeDay, VolumeSeries
from ledger.api.params import VOLUME_MAX, Day, Offset
from ledger.ops.volume_query import VolumeRequest, volume_series
from ledger.rules.model import SCOPE_KIND_PATTERN

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
) -> VolumeSeries:
    # Names as typed ('Immigration and Customs Enforcement'): the registry resolves them.
    asked = VolumeRequest(kind, value, source, since=since, until=until, limit=limit, offset=offset)
    found = volume_series(conn, context(request).registry, asked)
    returned(request, len(found.days))
    return VolumeSeries(
        kind=kind,
        limit=limit,
        offset=offset,
        more=found.more,
        days=[VolumeDay.model_validate(d) for d in found.days],
    )
