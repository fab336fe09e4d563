"""/api/alerts: counts per rule for the public role, the alerts themselves for the others: open
critical ones first, then newest first, a page at a time (``cursor``, ``next_cursor``, ``more``)."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from ledger.api.auth import Public, at_least
from ledger.api.context import Db, context, returned
from ledger.api.models import Alerts
from ledger.api.params import Day, Limit
from ledger.ops.first_seen import first_seen as scopes_first_seen
from ledger.rules.model import SCOPE_KIND_PATTERN
from ledger.store import queries
from ledger.store.alert_pages import CURSOR_MAX, AlertFilter, alert_page

router = APIRouter()


@router.get("/api/alerts", response_model=Alerts, response_model_exclude_unset=True)
def alerts(
    request: Request,
    who: Public,
    conn: Db,
    rule: str | None = None,
    since: Day | None = None,
    limit: Limit = 500,
    kind: Annotated[str | None, Query(pattern=SCOPE_KIND_PATTERN)] = None,
    scope: str | None = None,
    first_seen: bool = False,
    status: Literal["open", "resolved", "all"] = "all",
    cursor: Annotated[str | None, Query(max_length=CURSOR_MAX)] = None,
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
    page = alert_page(conn, AlertFilter(rule, since, kind, value, status), limit, cursor)
    returned(request, len(page.alerts))
    listed: dict[str, Any] = {"alerts": page.alerts, "more": page.more}
    if page.next_cursor:
        listed["next_cursor"] = page.next_cursor
    return listed
