"""FastAPI application: read-only endpoints, bearer tokens with roles, every call audited.

No `from __future__ import annotations` here: FastAPI must see the local dependency aliases.
"""

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any
from urllib.parse import parse_qs

import psycopg
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from psycopg.rows import dict_row
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger.access_log import AccessLog
from ledger.cli_output import to_jsonable
from ledger.errors import EventValidationError, LedgerError
from ledger.ops.metrics import render_metrics
from ledger.ops.proofs import ProofUnavailableError, inclusion_proof_json
from ledger.privacy import load_taxpayer_key, taxpayer_key_path, taxpayer_ref
from ledger.runtime import Ledger
from ledger.store import queries
from ledger.store.connection import connect
from ledger.store.tokens import Principal, lookup
from ledger.web.dashboard import login_page, render_dashboard

log = logging.getLogger(__name__)

RANK = {"public": 0, "overseer": 1, "auditor": 2}
COOKIE = "ledger_token"


class AccountingRequest(BaseModel):
    tin: str


def reject_unknown_parameters(request: Request) -> None:
    """A misspelt filter (`?from=` for `?since=`) must not silently return everything."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known = {p.alias for p in _query_params(dependant)}
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        allowed = ", ".join(sorted(known)) or "none"
        raise HTTPException(
            422, f"{unknown[0]}: unknown parameter (this endpoint takes: {allowed})"
        )


def _query_params(dependant: Any) -> list[Any]:
    found = list(dependant.query_params)
    for sub in dependant.dependencies:
        found.extend(_query_params(sub))
    return found


def create_app(ledger: Ledger, access_log: AccessLog | None = None) -> FastAPI:
    audit = access_log or AccessLog(ledger.bootstrap, ledger.topics.disclosures)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        audit.close()  # flush access events still queued

    app = FastAPI(
        lifespan=lifespan,
        title="Disclosure Ledger",
        version="1",
        description="Read-only oversight API. Every call is recorded.",
        dependencies=[Depends(reject_unknown_parameters)],
        docs_url=None,  # the Swagger and ReDoc pages load scripts from a CDN; /openapi.json stays
        redoc_url=None,
    )
    app.state.access_log = audit

    def db() -> Iterator[psycopg.Connection]:
        conn = connect(ledger.reader_url, ledger.schema, autocommit=True)
        try:
            yield conn
        finally:
            conn.close()

    Db = Annotated[psycopg.Connection, Depends(db)]

    def principal(request: Request, conn: Db) -> Principal:
        header = request.headers.get("authorization", "")
        token = (
            header[7:].strip()
            if header.lower().startswith("bearer ")
            else request.cookies.get(COOKIE, "")
        )
        found = lookup(conn, token) if token else None
        if found is None:
            raise HTTPException(401, "a valid bearer token is required")
        request.state.principal = found
        return found

    def role(minimum: str) -> Any:
        def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
            if RANK[who.role] < RANK[minimum]:
                raise HTTPException(
                    403, f"the {who.role} role may not use this endpoint (needs {minimum})"
                )
            return who

        return Depends(check)

    Public, Overseer, Auditor = role("public"), role("overseer"), role("auditor")

    def record(request: Request, returned: int, query: dict[str, Any] | None = None) -> None:
        who: Principal | None = getattr(request.state, "principal", None)
        if who is not None:
            audit.record(who.name, who.role, f"{request.method} {request.url.path}",
                         query if query is not None else dict(request.query_params), returned)  # fmt: skip

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # One line, naming the parameter; never echo the input (it could be a TIN).
        first = exc.errors()[0] if exc.errors() else {}
        loc = tuple(first.get("loc", ()))
        where = ".".join(str(p) for p in loc if p not in ("query", "body", "path"))
        message = f"{where or 'request'}: {first.get('msg', 'invalid')}"
        if loc == ("body",):
            message = "body: must be a JSON object (Content-Type: application/json)"
        return JSONResponse({"error": message}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        # The details go to the server log for the operator; the caller gets one plain line.
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return JSONResponse(
            {"error": "internal error; the server log has the details"}, status_code=500
        )

    @app.exception_handler(LedgerError)
    async def ledger_error(request: Request, exc: LedgerError) -> JSONResponse:
        status = 404 if isinstance(exc, ProofUnavailableError) else 503
        return JSONResponse({"error": exc.diagnostics()}, status_code=status)

    @app.get("/health")
    def health(conn: Db) -> dict[str, str]:
        conn.execute("SELECT 1")
        return {"status": "ok"}

    @app.get("/api/disclosures")
    def disclosures(
        request: Request, conn: Db, who: Principal = Overseer,
        recipient: str | None = None, authority: str | None = None, source: str | None = None,
        since: date | None = None, until: date | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:  # fmt: skip
        rows, total = queries.disclosures(
            conn,
            queries.DisclosureFilter(recipient, authority, source, since, until, limit, offset),
        )
        record(request, len(rows))
        return to_jsonable({"total": total, "limit": limit, "offset": offset, "disclosures": rows})

    @app.get("/api/volume")
    def volume(
        request: Request, conn: Db, who: Principal = Public,
        kind: Annotated[str, Query(pattern="^(recipient|authority|source)$")] = "recipient",
        source: str | None = None, value: str | None = None, since: date | None = None, until: date | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        rows = queries.volume_series(conn, kind, source, value, since, until)
        record(request, len(rows))
        return to_jsonable({"kind": kind, "days": rows})

    @app.get("/api/alerts")
    def alerts(
        request: Request, conn: Db, who: Principal = Public, rule: str | None = None, since: date | None = None,
        limit: Annotated[int, Query(ge=1, le=10000)] = 500,
    ) -> dict[str, Any]:  # fmt: skip
        rows = queries.alerts(conn, rule, since, limit)
        if who.role == "public":  # aggregate counts only
            counts: dict[str, int] = {}
            for r in rows:
                counts[r["rule"]] = counts.get(r["rule"], 0) + 1
            record(request, len(counts))
            return {"counts": counts}
        record(request, len(rows))
        return to_jsonable({"alerts": rows})

    def table(conn: psycopg.Connection, sql: str) -> list[dict[str, Any]]:
        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute(sql)
            return list(cur.fetchall())

    @app.get("/api/notices")
    def notices(request: Request, conn: Db, who: Principal = Overseer) -> dict[str, Any]:
        rows = table(conn, "SELECT record FROM notices ORDER BY filed_at")
        record(request, len(rows))
        return to_jsonable({"notices": [r["record"] for r in rows]})

    @app.get("/api/court-orders")
    def court_orders(request: Request, conn: Db, who: Principal = Overseer) -> dict[str, Any]:
        rows = table(conn, "SELECT record FROM court_orders ORDER BY effective_at")
        record(request, len(rows))
        return to_jsonable({"court_orders": [r["record"] for r in rows]})

    @app.get("/api/checkpoints")
    def checkpoints(request: Request, conn: Db, who: Principal = Overseer) -> dict[str, Any]:
        rows = table(conn, "SELECT DISTINCT ON (log_id) log_id, tree_size, note, signed_at FROM checkpoints"
                           " ORDER BY log_id, tree_size DESC")  # fmt: skip
        record(request, len(rows))
        return to_jsonable({"checkpoints": rows})

    def entry_and_proof(conn: psycopg.Connection, event_id: str) -> dict[str, Any]:
        try:
            uuid.UUID(event_id)
        except ValueError as exc:
            raise HTTPException(422, "event_id: must be a UUID") from exc
        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute("SELECT log_id, seq, kafka_offset, event_type, occurred_at, recorded_at, body"
                        " FROM entries WHERE event_id = %s", (event_id,))  # fmt: skip
            entry = cur.fetchone()
        if entry is None:
            raise HTTPException(404, f"no entry with event id {event_id}")
        return {"entry": entry, "proof": inclusion_proof_json(conn, event_id)}

    @app.get("/api/entries/{event_id}")
    def entry(
        request: Request, event_id: str, conn: Db, who: Principal = Overseer
    ) -> dict[str, Any]:
        found = entry_and_proof(conn, event_id)
        record(request, 1, {"event_id": event_id})
        return to_jsonable(found)

    @app.get("/api/entries/{event_id}/proof")
    def proof_download(
        request: Request, event_id: str, conn: Db, who: Principal = Overseer
    ) -> Response:
        proof = entry_and_proof(conn, event_id)["proof"]
        record(request, 1, {"event_id": event_id})
        return Response(json.dumps(proof, indent=2), media_type="application/json",
                        headers={"content-disposition": f'attachment; filename="proof-{event_id}.json"'})  # fmt: skip

    @app.post("/api/accounting")
    def accounting(
        request: Request, body: AccountingRequest, conn: Db, who: Principal = Auditor
    ) -> dict[str, Any]:
        try:
            ref = taxpayer_ref(load_taxpayer_key(taxpayer_key_path(ledger.settings)), body.tin)
        except LedgerError as exc:
            raise HTTPException(
                422 if isinstance(exc, EventValidationError) else 503, exc.diagnostics()
            ) from None
        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                "SELECT DISTINCT d.day, d.transmitted_at, d.recipient_agency, d.legal_authority, d.purpose,"
                " d.nature, d.disclosure_id FROM taxpayer_refs t JOIN disclosures d USING (disclosure_id)"
                " WHERE t.ref = %s ORDER BY d.transmitted_at", (ref,))  # fmt: skip
            rows = list(cur.fetchall())
        record(request, len(rows), {"kind": "privacy-act-accounting"})  # the TIN is never recorded
        return to_jsonable({"disclosures": rows})

    started = time.time()

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics(request: Request, conn: Db, who: Principal = Public) -> str:
        return render_metrics(conn, ledger, started)

    @app.get("/", response_class=HTMLResponse)
    def dashboard(
        request: Request, conn: Db, scope: str | None = None, kind: str = "recipient",
        day: date | None = None, since: str | None = None, until: str | None = None,
        token: str | None = None,
    ) -> Response:  # fmt: skip
        # The page's own form sends empty date fields; an empty field means "no bound".
        try:
            since_day, until_day = (date.fromisoformat(v) if v else None for v in (since, until))
        except ValueError:
            raise HTTPException(422, "since/until: dates must look like 2025-08-07") from None
        if token:  # a link with ?token= sets the cookie once and drops the token from the URL
            response = RedirectResponse("/", status_code=303)
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
            return response
        try:
            who = principal(request, conn)
        except HTTPException:
            return HTMLResponse(login_page(), status_code=401)
        if RANK[who.role] < RANK["overseer"]:
            return HTMLResponse(
                login_page("This token's role may only use the aggregate API."), status_code=403
            )
        html, returned = render_dashboard(conn, kind if kind in ("recipient", "authority", "source") else "recipient",
                                          scope, day, since_day, until_day)  # fmt: skip
        record(request, returned)
        return HTMLResponse(html)

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = (await request.body()).decode()
        token = parse_qs(form).get("token", [""])[0]
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return response

    return app
