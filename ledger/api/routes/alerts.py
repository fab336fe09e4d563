"""/api/alerts: counts per rule for the public role, the alerts themselves for the others."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from ledger.api.auth import Public, at_least
from ledger.api.context import Db, context, returned
from ledger.api.models import Alerts
from ledger.api.params import Day, Limit
from ledger.ops.first_seen import first_seen as scopes_first_seen
from ledger.store import queries

router = APIRouter()


@router.get("/api/alerts", response_model=Alerts, response_model_exclude_unset=True)
def alerts(
    request: Request,
    who: Public,
    conn: Db,
    rule: str | None = None,
    since: Day | None = None,
    limit: Limit = 500,
    kind: Annotated[str | None, Query(pattern="^(recipient|authority|pair|source)$")] = None,
    scope: str | None = None,
    first_seen: bool = False,
    status: Literal["open", "resolved", "all"] = "all",
) -> dict[str, Any]:
    if not at_least(who, "overseer"):  # aggregate counts only, over every alert
        counts = queries.alert_counts(conn, rule, since, status)
        returned(request, len(counts))
        return {"counts": counts}
    if first_seen:
        found = scopes_first_seen(conn, context(request).rules)
        returned(request, len(found))
        return {"first_seen": found}
    value = (
        None if scope is None else context(request).registry.scope_value(kind or "recipient", scope)
    )
    rows = queries.alerts(conn, rule, since, limit, kind, value, status)
    returned(request, len(rows))
    return {"alerts": rows}
