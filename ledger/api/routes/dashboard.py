"""The dashboard (/) and its sign-in (/login): HTML pages, a token kept in a cookie.

A link with ``?token=`` (the one `ledger demo` prints) or the login form sets the cookie once,
and only for a token that is valid now; the token itself is never recorded.
"""

from datetime import date
from functools import partial
from typing import Annotated
from urllib.parse import parse_qs

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ledger.api.auth import at_least, identified, principal, set_token_cookie
from ledger.api.context import Db, context, returned
from ledger.api.params import Day, bounded_day
from ledger.store import Connection
from ledger.store.alert_pages import CURSOR_MAX
from ledger.store.tokens import identify
from ledger.web.dashboard import KINDS, render_dashboard
from ledger.web.page import login_page

router = APIRouter()
HTML = {"content": {"text/html": {"schema": {"type": "string"}}}}
SIGNED_IN = {"description": "Signed in"}


def sign_in(request: Request, conn: Connection, token: str) -> Response:
    """Sets the cookie only for a token that is valid now, and says so otherwise."""
    info = identify(conn, token)
    identified(request.scope.setdefault("state", {}), info)
    if info is None:
        return HTMLResponse(login_page("That token is not valid."), status_code=401)
    status = info.status()
    if status != "active":
        how = "been revoked" if status == "revoked" else "expired"
        return HTMLResponse(login_page(f"That token has {how}."), status_code=401)
    response = RedirectResponse("/", status_code=303)
    set_token_cookie(request, response, token)
    return response


def _optional_day(value: str | None) -> date | None:
    # The page's own form sends empty date fields; an empty field means "no bound".
    return bounded_day(date.fromisoformat(value)) if value else None


@router.get(
    "/",
    response_class=HTMLResponse,
    responses={200: HTML, 401: HTML, 403: HTML, 303: SIGNED_IN},
)
def dashboard(
    request: Request,
    conn: Db,
    scope: str | None = None,
    kind: str = "recipient",
    day: Day | None = None,
    since: str | None = None,
    until: str | None = None,
    token: str | None = None,
    cursor: Annotated[str | None, Query(max_length=CURSOR_MAX)] = None,
) -> Response:
    if token:  # a link with ?token= sets the cookie once and drops the token from the URL
        return sign_in(request, conn, token)
    try:
        since_day, until_day = _optional_day(since), _optional_day(until)
    except ValueError:
        raise HTTPException(
            422, "since/until: dates must look like 2025-08-07, between 1900 and 2200"
        ) from None
    try:
        who = principal(request)
    except HTTPException as exc:
        if exc.status_code != 401:
            raise
        return HTMLResponse(login_page(), status_code=401)
    if not at_least(who, "overseer"):
        return HTMLResponse(
            login_page("This token's role may only use the aggregate API."), status_code=403
        )
    kind = kind if kind in KINDS else "recipient"
    html, count = render_dashboard(
        conn, kind, scope, day, since_day, until_day, context(request).rules, cursor
    )
    returned(request, count)
    return HTMLResponse(html)


def _sign_in_with_pool(request: Request, token: str) -> Response:
    with context(request).pool.connection() as conn:
        return sign_in(request, conn, token)


@router.post("/login", response_class=HTMLResponse, responses={303: SIGNED_IN, 401: HTML})
async def login(request: Request) -> Response:
    form = (await request.body()).decode("utf-8", "replace")
    token = parse_qs(form).get("token", [""])[0]
    request.state.recorded_query = {}  # the form holds the token: never recorded
    return await anyio.to_thread.run_sync(partial(_sign_in_with_pool, request, token))
