"""/api/alerts: counts per rule for the public role, the alerts themselves for the others: open
critical ones first, then newest first, a page at a time (``cursor``, ``next_cursor``, ``more``)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from ledger.api.auth import Public, at_least
from ledger.api.context import Db, context, returned
from ledger.api.models import Alert, Alerts, FirstSeen
from ledger.api.params import Day, Limit
from ledger.ops.alert_query import AlertCounts, AlertsRequest, ScopesFirstSeen
from ledger.ops.alert_query import alerts as list_alerts
from ledger.rules.model import SCOPE_KIND_PATTERN
from ledger.store.alert_pages import CURSOR_MAX

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
) -> Alerts:
    asked = AlertsRequest(rule, since, kind, scope, status, limit, cursor, first_seen)
    # Below the overseer: aggregate counts only, over every alert (the request checked alike).
    public = not at_least(who, "overseer")
    found = list_alerts(conn, context(request).rules, asked, counts_only=public)
    if isinstance(found, AlertCounts):
        returned(request, len(found.counts))
        return Alerts(counts=found.counts)
    if isinstance(found, ScopesFirstSeen):
        returned(request, len(found.scopes))
        return Alerts(first_seen=[FirstSeen.model_validate(s) for s in found.scopes])
    page = found.page
    returned(request, len(page.alerts))
    listed = Alerts(alerts=[Alert.model_validate(a) for a in page.alerts], more=page.more)
    if page.next_cursor:  # absent, not null, on the last page
        listed.next_cursor = page.next_cursor
    return listed
