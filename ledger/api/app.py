"""FastAPI application: read-only endpoints, bearer tokens with roles, every call audited.

Every request except ``/health`` and ``/openapi.json`` passes through ``AccessRecorder``, which
identifies the caller's token before anything reads the request body, caps the body at
``MAX_BODY`` bytes, and records a LedgerAccessed event with the response's status *before* the
response goes out: a refused call (401, 403, 404, 405, 413, 422) is recorded like a served one,
and when Kafka does not acknowledge the record the caller gets 503 instead of the response.

No `from __future__ import annotations` here: FastAPI must see the local dependency aliases.
"""

import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from contextlib import asynccontextmanager
from datetime import date, datetime
from functools import partial
from typing import Annotated, Any
from urllib.parse import parse_qs

import anyio.to_thread
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
from psycopg_pool import ConnectionPool, PoolTimeout
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger.access_log import AccessLog, AccessLogUnavailableError, recordable
from ledger.errors import LedgerError
from ledger.local_secrets import configured_or_existing
from ledger.ops.metrics import RenderCache, render_metrics
from ledger.ops.proofs import inclusion_proof_json
from ledger.privacy import load_taxpayer_key, taxpayer_ref
from ledger.runtime import Ledger
from ledger.storable import text_problem, time_problem
from ledger.store import queries
from ledger.store.tokens import Principal, TokenInfo, identify
from ledger.web.dashboard import login_page, render_dashboard

log = logging.getLogger(__name__)

RANK = {"public": 0, "overseer": 1, "auditor": 2}
COOKIE = "ledger_token"
MAX_BODY = 16 * 1024  # bytes; the only body the API takes is {"tin": "..."} or a login form
UNRECORDED = frozenset({"/health", "/openapi.json"})  # serve no ledger data
CREDENTIAL_PARAMS = frozenset({"token"})  # recorded as redacted, never as given
METRICS_TTL = 5.0  # seconds /metrics reuses its last rendering
PAGE_MAX = 1000  # rows per page of any list
VOLUME_MAX = 5000  # days per volume series page
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_DIGEST_FIELDS = frozenset({"manifest_sha256"})  # 64 hex digits by design, not a taxpayer ref
WITHHELD = "[withheld: taxpayer refs are for the auditor role]"


# --- response shapes (the OpenAPI document the schemathesis test holds the API to) -----------


class ErrorBody(BaseModel):
    error: str


class Health(BaseModel):
    status: str


class Disclosure(BaseModel):
    event_id: str
    disclosure_id: str
    day: date
    transmitted_at: datetime
    source_agency: str
    recipient_agency: str
    legal_authority: str
    purpose: str
    nature: str
    record_count: int
    match_method: str | None
    address_verification: str | None
    notice_id: str | None
    log_id: str
    kafka_offset: int


class DisclosurePage(BaseModel):
    total: int
    limit: int
    offset: int
    disclosures: list[Disclosure]


class VolumeDay(BaseModel):
    day: date
    source_agency: str
    scope_value: str
    disclosures: int
    records: int
    prior_365_records: int


class VolumeSeries(BaseModel):
    kind: str
    limit: int
    offset: int
    more: bool
    days: list[VolumeDay]


class Alert(BaseModel):
    alert_id: str
    rule: str
    severity: str
    scope: str
    day: date
    observed: int
    threshold: int | None
    evidence: list[str]
    legal_source: str
    message: str
    fired_at: datetime
    delivery: str
    acknowledged_by: str


class Alerts(BaseModel):
    """``counts`` (rule -> alerts) for the public role; ``alerts`` for overseers and auditors."""

    counts: dict[str, int] | None = None
    alerts: list[Alert] | None = None


class Notices(BaseModel):
    limit: int
    offset: int
    more: bool
    notices: list[dict[str, Any]]


class CourtOrders(BaseModel):
    limit: int
    offset: int
    more: bool
    court_orders: list[dict[str, Any]]


class Checkpoint(BaseModel):
    log_id: str
    tree_size: int
    note: str
    signed_at: datetime


class Checkpoints(BaseModel):
    checkpoints: list[Checkpoint]


class Entry(BaseModel):
    log_id: str
    seq: int
    kafka_offset: int
    event_type: str
    occurred_at: datetime
    recorded_at: datetime
    body: dict[str, Any]
    taxpayer_refs_withheld: int | None = None


class InclusionProof(BaseModel):
    """RFC 6962 inclusion proof. ``value`` (base64 message bytes) is absent when withheld: the
    message carries taxpayer refs and the caller is below the auditor role; ``leaf_hash`` is
    SHA-256(0x00 || value) and is what the proof proves."""

    model_config = ConfigDict(extra="allow")
    log: str
    leaf_index: int
    tree_size: int
    leaf_hash: str
    value: str | None = None
    value_withheld: str | None = None
    hashes: list[str]
    checkpoint: str


class EntryWithProof(BaseModel):
    entry: Entry
    proof: InclusionProof


class AccountingRequest(BaseModel):
    tin: str


class AccountingRow(BaseModel):
    day: date
    transmitted_at: datetime
    recipient_agency: str
    legal_authority: str
    purpose: str
    nature: str
    disclosure_id: str


class Accounting(BaseModel):
    disclosures: list[AccountingRow]


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


ERRORS: dict[int | str, dict[str, Any]] = {
    401: _error("No token, or an unknown, expired or revoked one"),
    403: _error("The token's role may not use this endpoint"),
    413: _error(f"Request body over {MAX_BODY} bytes"),
    422: _error("A bad, unknown or repeated parameter"),
    503: _error("The access record could not be made (Kafka) or the database is unreachable"),
}
HTML = {"content": {"text/html": {"schema": {"type": "string"}}}}


def _bounded_day(value: date) -> date:
    problem = time_problem(value)
    if problem:
        raise ValueError(problem)
    return value


Day = Annotated[date, AfterValidator(_bounded_day)]


class BodyTooLargeError(Exception):
    pass


# --- parameters -----------------------------------------------------------------------------


def check_parameters(request: Request) -> None:
    """A misspelt filter (`?from=` for `?since=`) must not silently return everything; a repeated
    one must not mean one thing to the query and another to the access log; text the database
    cannot hold is refused here rather than failing in the driver."""
    for name, value in request.query_params.multi_items():
        for text in (name, value):
            problem = text_problem(text)
            if problem:
                where = "a parameter name" if text is name else recordable_name(name)
                raise HTTPException(422, f"{where}: {problem}")
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known = {p.alias for p in _query_params(dependant)}
    given = [k for k, _ in request.query_params.multi_items()]
    unknown = sorted(set(given) - known)
    if unknown:
        allowed = ", ".join(sorted(known)) or "none"
        raise HTTPException(
            422,
            f"{recordable_name(unknown[0])}: unknown parameter (this endpoint takes: {allowed})",
        )
    repeated = sorted({k for k in given if given.count(k) > 1})
    if repeated:
        raise HTTPException(422, f"{repeated[0]}: given more than once")


def recordable_name(name: str) -> str:
    """A parameter name safe to echo in a one-line error (it could be anything)."""
    return recordable(name)[:80]


def _query_params(dependant: Any) -> list[Any]:
    found = list(dependant.query_params)
    for sub in dependant.dependencies:
        found.extend(_query_params(sub))
    return found


# --- refs stay with the auditor -------------------------------------------------------------


def withhold_refs(value: Any, key: str | None = None) -> tuple[Any, int]:
    """``value`` without taxpayer refs: ``taxpayer_refs`` lists dropped, any other text holding a
    64-hex run (a ref quoted in an amendment, say) replaced; returns the count withheld."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        withheld = 0
        for k, v in value.items():
            if k == "taxpayer_refs" and isinstance(v, list):
                withheld += len(v)
                continue
            out[k], n = withhold_refs(v, k)
            withheld += n
        return out, withheld
    if isinstance(value, list):
        items = [withhold_refs(v, key) for v in value]
        return [v for v, _ in items], sum(n for _, n in items)
    if isinstance(value, str) and key not in _DIGEST_FIELDS and _HEX64.search(value):
        return WITHHELD, 1
    return value, 0


# --- the access recorder ----------------------------------------------------------------------

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def _presented_token(scope: Scope) -> str:
    request = Request(scope)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(COOKIE, "")


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": data})


class AccessRecorder:
    """Pure ASGI middleware: identify the token, cap the body, record the access, then answer."""

    def __init__(
        self, app: Any, audit: AccessLog, identify_token: Callable[[str], TokenInfo | None]
    ) -> None:
        self.app = app
        self.audit = audit
        self.identify_token = identify_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNRECORDED:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        token = _presented_token(scope)
        if token:  # before anything reads the body
            try:
                info = await anyio.to_thread.run_sync(self.identify_token, token)
            except Exception:  # the database: the endpoint answers 503, recorded
                log.exception("token lookup failed")
                state["auth_unavailable"] = True
            else:
                _identified(state, info)

        declared = Request(scope).headers.get("content-length", "")
        received = 0

        async def capped_receive() -> Message:
            nonlocal received
            if declared.isdigit() and int(declared) > MAX_BODY:
                raise BodyTooLargeError
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_BODY:
                    raise BodyTooLargeError
            return message

        started = replaced = False

        async def recording_send(message: Message) -> None:
            nonlocal started, replaced
            if message["type"] == "http.response.start":
                started = True
                if not await self._record(scope, int(message["status"])):
                    replaced = True
                    await _send_json(send, 503, {"error": _unrecorded()})
                    return
            elif message["type"] == "http.response.body" and replaced:
                return
            await send(message)

        try:
            await self.app(scope, capped_receive, recording_send)
        except Exception as exc:
            if started:
                raise
            # The details go to the server log for the operator; the caller gets one plain line.
            log.error("%s %s failed", scope.get("method"), scope.get("path"), exc_info=exc)
            await recording_send({"type": "http.response.start", "status": 500,
                                  "headers": [(b"content-type", b"application/json")]})  # fmt: skip
            if not replaced:
                body = json.dumps({"error": "internal error; the server log has the details"})
                await send({"type": "http.response.body", "body": body.encode()})

    async def _record(self, scope: Scope, status: int) -> bool:
        state = scope["state"]
        who: Principal | None = state.get("principal")
        accessor = who.name if who else state.get("accessor", "anonymous")
        role = who.role if who else state.get("accessor_role", "none")
        method = str(scope.get("method", ""))
        method = method if re.fullmatch(r"[A-Z]{1,16}", method) else "[unusual method]"
        route = scope.get("route")
        query: Any = state.get("recorded_query")
        if query is None:
            query = [
                (k, "[redacted: credential]" if k in CREDENTIAL_PARAMS else v)
                for k, v in QueryParams(scope.get("query_string", b"")).multi_items()
            ]
            query += [(k, str(v)) for k, v in (scope.get("path_params") or {}).items()]
            if route is None:
                query.append(("path", str(scope.get("path", ""))))
        action = f"{method} {route.path}" if route is not None else f"{method} [no such endpoint]"
        returned = int(state.get("returned", 0)) if status < 400 else 0
        try:
            await anyio.to_thread.run_sync(
                partial(self.audit.record, accessor, role, action, query, returned, status)
            )
        except AccessLogUnavailableError:
            return False
        except Exception:
            log.exception("could not record an access")
            return False
        return True


def _identified(state: dict[str, Any], info: TokenInfo | None) -> None:
    if info is None:
        state["accessor"], state["accessor_role"] = "unknown-token", "none"
        return
    status = info.status()
    if status == "active":
        state["principal"] = Principal(info.name, info.role)
    else:  # an expired or revoked token still tells whose it was; the call is refused
        state["accessor"], state["accessor_role"] = info.name, info.role
        state["token_status"] = status


def _unrecorded() -> str:
    return (
        "the access log is unavailable (Kafka did not acknowledge the access record), so nothing "
        "is served; try again shortly"
    )


# --- the application --------------------------------------------------------------------------


def create_app(ledger: Ledger, access_log: AccessLog | None = None) -> FastAPI:
    audit = access_log or AccessLog(ledger.bootstrap, ledger.topics.disclosures)
    pool = ConnectionPool(
        ledger.reader_url,
        kwargs={
            "autocommit": True,
            "options": f"-c search_path={ledger.schema} -c default_transaction_read_only=on"
            " -c statement_timeout=30000",
            "connect_timeout": 10,
        },
        min_size=1,
        max_size=10,
        timeout=10,
        check=ConnectionPool.check_connection,
        name="ledger-api",
        open=False,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool.open(wait=False)
        await anyio.to_thread.run_sync(audit.connect)  # a first request need not wait for it
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(audit.close)
            await anyio.to_thread.run_sync(pool.close)

    app = FastAPI(
        lifespan=lifespan,
        title="Disclosure Ledger",
        version="1",
        description="Read-only oversight API. Every call is recorded, refused ones included.",
        dependencies=[Depends(check_parameters)],
        responses=ERRORS,
        docs_url=None,  # the Swagger and ReDoc pages load scripts from a CDN; /openapi.json stays
        redoc_url=None,
    )
    app.state.access_log = audit
    app.state.pool = pool

    def identify_token(token: str) -> TokenInfo | None:
        _ensure_open(pool)
        with pool.connection() as conn:
            return identify(conn, token)

    app.add_middleware(AccessRecorder, audit=audit, identify_token=identify_token)

    def db() -> Iterator[psycopg.Connection]:
        _ensure_open(pool)
        with pool.connection() as conn:
            yield conn

    Db = Annotated[psycopg.Connection, Depends(db)]

    def principal(request: Request) -> Principal:
        found: Principal | None = getattr(request.state, "principal", None)
        if found is not None:
            return found
        if getattr(request.state, "auth_unavailable", False):
            raise HTTPException(503, "the token could not be checked: the database is unreachable")
        status = getattr(request.state, "token_status", None)
        if status:
            raise HTTPException(401, f"this token has been {'revoked' if status == 'revoked' else 'expired'}")  # fmt: skip
        raise HTTPException(401, "a valid bearer token is required")

    def role(minimum: str) -> Any:
        def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
            if RANK[who.role] < RANK[minimum]:
                raise HTTPException(
                    403, f"the {who.role} role may not use this endpoint (needs {minimum})"
                )
            return who

        return Depends(check)

    # Principals come before the database connection in every signature: FastAPI resolves
    # dependencies in order, so a refused caller never takes a connection from the pool.
    Public = Annotated[Principal, role("public")]
    Overseer = Annotated[Principal, role("overseer")]
    Auditor = Annotated[Principal, role("auditor")]

    def returned(request: Request, count: int, query: dict[str, Any] | None = None) -> None:
        """What the access record says came back (and, for some endpoints, what was asked)."""
        request.state.returned = count
        if query is not None:
            request.state.recorded_query = query

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # One line, naming the parameter; never echo the input (it could be a TIN).
        first = exc.errors()[0] if exc.errors() else {}
        loc = tuple(first.get("loc", ()))
        where = ".".join(str(p) for p in loc if p not in ("query", "body", "path"))
        message = f"{recordable_name(where) if where else 'request'}: {first.get('msg', 'invalid')}"
        if loc == ("body",):
            message = "body: must be a JSON object (Content-Type: application/json)"
        return JSONResponse({"error": message}, status_code=422)

    @app.exception_handler(BodyTooLargeError)
    async def body_too_large(request: Request, exc: BodyTooLargeError) -> JSONResponse:
        return JSONResponse(
            {"error": f"request body over {MAX_BODY} bytes (16 KiB)"}, status_code=413
        )

    @app.exception_handler(PoolTimeout)
    async def pool_timeout(request: Request, exc: PoolTimeout) -> JSONResponse:
        log.error("no database connection: %s", exc)
        return JSONResponse({"error": "the database is unreachable; try again shortly"}, 503)

    @app.exception_handler(psycopg.OperationalError)
    async def database_down(request: Request, exc: psycopg.OperationalError) -> JSONResponse:
        log.error("database error: %s", exc)
        return JSONResponse({"error": "the database is unreachable; try again shortly"}, 503)

    @app.exception_handler(LedgerError)
    async def ledger_error(request: Request, exc: LedgerError) -> JSONResponse:
        return JSONResponse({"error": exc.diagnostics()}, status_code=exc.http_status)

    @app.get("/health", response_model=Health)
    def health(conn: Db) -> dict[str, str]:
        conn.execute("SELECT 1")
        return {"status": "ok"}

    @app.get("/api/disclosures", response_model=DisclosurePage)
    def disclosures(
        request: Request, who: Overseer, conn: Db,
        recipient: str | None = None, authority: str | None = None, source: str | None = None,
        since: Day | None = None, until: Day | None = None,
        limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 100,
        offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    ) -> dict[str, Any]:  # fmt: skip
        rows, total = queries.disclosures(
            conn,
            queries.DisclosureFilter(recipient, authority, source, since, until, limit, offset),
        )
        returned(request, len(rows))
        return {"total": total, "limit": limit, "offset": offset, "disclosures": rows}

    @app.get("/api/volume", response_model=VolumeSeries)
    def volume(
        request: Request, who: Public, conn: Db,
        kind: Annotated[str, Query(pattern="^(recipient|authority|source)$")] = "recipient",
        source: str | None = None, value: str | None = None, since: Day | None = None, until: Day | None = None,
        limit: Annotated[int, Query(ge=1, le=VOLUME_MAX)] = 1000,
        offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    ) -> dict[str, Any]:  # fmt: skip
        rows = queries.volume_series(conn, kind, source, value, since, until, limit + 1, offset)
        more = len(rows) > limit
        returned(request, min(len(rows), limit))
        return {"kind": kind, "limit": limit, "offset": offset, "more": more, "days": rows[:limit]}

    @app.get("/api/alerts", response_model=Alerts, response_model_exclude_unset=True)
    def alerts(
        request: Request, who: Public, conn: Db, rule: str | None = None, since: Day | None = None,
        limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 500,
    ) -> dict[str, Any]:  # fmt: skip
        if who.role == "public":  # aggregate counts only, over every alert
            counts = queries.alert_counts(conn, rule, since)
            returned(request, len(counts))
            return {"counts": counts}
        rows = queries.alerts(conn, rule, since, limit)
        returned(request, len(rows))
        return {"alerts": rows}

    def page_of(conn: psycopg.Connection, sql: str, limit: int, offset: int) -> tuple[list[Any], bool]:  # fmt: skip
        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute(sql + " LIMIT %s OFFSET %s", (limit + 1, offset))
            rows = list(cur.fetchall())
        return rows[:limit], len(rows) > limit

    Limit = Annotated[int, Query(ge=1, le=PAGE_MAX)]
    Offset = Annotated[int, Query(ge=0, le=10**9)]

    @app.get("/api/notices", response_model=Notices)
    def notices(
        request: Request,
        who: Overseer,
        conn: Db,
        limit: Limit = 500,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        rows, more = page_of(conn, "SELECT record FROM notices ORDER BY filed_at, event_id", limit, offset)  # fmt: skip
        records = [visible(who, r["record"]) for r in rows]
        returned(request, len(records))
        return {"limit": limit, "offset": offset, "more": more, "notices": records}

    @app.get("/api/court-orders", response_model=CourtOrders)
    def court_orders(
        request: Request,
        who: Overseer,
        conn: Db,
        limit: Limit = 500,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        rows, more = page_of(conn, "SELECT record FROM court_orders ORDER BY effective_at, event_id", limit, offset)  # fmt: skip
        records = [visible(who, r["record"]) for r in rows]
        returned(request, len(records))
        return {"limit": limit, "offset": offset, "more": more, "court_orders": records}

    def visible(who: Principal, record: Any) -> Any:
        return record if RANK[who.role] >= RANK["auditor"] else withhold_refs(record)[0]

    @app.get("/api/checkpoints", response_model=Checkpoints)
    def checkpoints(request: Request, who: Overseer, conn: Db) -> dict[str, Any]:
        rows, _ = page_of(conn, "SELECT DISTINCT ON (log_id) log_id, tree_size, note, signed_at FROM checkpoints"
                                " ORDER BY log_id, tree_size DESC", PAGE_MAX, 0)  # fmt: skip
        returned(request, len(rows))
        return {"checkpoints": rows}

    def entry_and_proof(conn: psycopg.Connection, event_id: str, who: Principal) -> dict[str, Any]:
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
        proof = inclusion_proof_json(conn, event_id)
        if RANK[who.role] < RANK["auditor"]:
            entry["body"], withheld = withhold_refs(entry["body"])
            if withheld:
                # The message bytes contain the refs, so they are withheld too; the leaf hash
                # is SHA-256(0x00 || bytes) and the proof of it still verifies.
                entry["taxpayer_refs_withheld"] = withheld
                del proof["value"]
                proof["value_withheld"] = (
                    "the message carries taxpayer refs, which only the auditor role sees; "
                    "leaf_hash is SHA-256(0x00 || message bytes) and is what this proof proves"
                )
        return {"entry": entry, "proof": proof}

    @app.get("/api/entries/{event_id}", response_model=EntryWithProof, response_model_exclude_unset=True)  # fmt: skip
    def entry(request: Request, event_id: str, who: Overseer, conn: Db) -> dict[str, Any]:
        found = entry_and_proof(conn, event_id, who)
        returned(request, 1)
        return found

    @app.get(
        "/api/entries/{event_id}/proof",
        response_class=Response,
        responses={200: {"content": {"application/json": {"schema": InclusionProof.model_json_schema()}},
                         "description": "The inclusion proof as a file to keep"}},
    )  # fmt: skip
    def proof_download(request: Request, event_id: str, who: Overseer, conn: Db) -> Response:
        proof = entry_and_proof(conn, event_id, who)["proof"]
        returned(request, 1)
        return Response(json.dumps(proof, indent=2), media_type="application/json",
                        headers={"content-disposition": f'attachment; filename="proof-{event_id}.json"'})  # fmt: skip

    async def accounting_request(request: Request, who: Auditor) -> AccountingRequest:
        # Read only once the token and role passed; capped at MAX_BODY by the recorder.
        returned(request, 0, {"kind": "privacy-act-accounting"})  # the TIN is never recorded
        raw = await request.body()
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            raise RequestValidationError([{"loc": ("body",), "msg": "invalid", "type": "json"}])
        try:
            return AccountingRequest.model_validate(data)
        except ValidationError as exc:
            errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_input=False)]
            raise RequestValidationError(errors) from None

    @app.post(
        "/api/accounting",
        response_model=Accounting,
        openapi_extra={"requestBody": {"required": True, "content": {
            "application/json": {"schema": AccountingRequest.model_json_schema()}}}},
    )  # fmt: skip
    def accounting(
        request: Request, body: Annotated[AccountingRequest, Depends(accounting_request)], conn: Db
    ) -> dict[str, Any]:
        # Never a key made up on the spot: it would silently find no taxpayer at all.
        key_file = configured_or_existing(
            ledger.settings.taxpayer_key_file, ledger.settings.data_dir, "taxpayer-ref.key"
        )
        try:
            ref = taxpayer_ref(load_taxpayer_key(key_file), body.tin)
        except LedgerError as exc:
            raise HTTPException(exc.http_status, exc.diagnostics()) from None
        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                "SELECT DISTINCT d.day, d.transmitted_at, d.recipient_agency, d.legal_authority, d.purpose,"
                " d.nature, d.disclosure_id FROM taxpayer_refs t JOIN disclosures d USING (disclosure_id)"
                " WHERE t.ref = %s ORDER BY d.transmitted_at", (ref,))  # fmt: skip
            rows = list(cur.fetchall())
        returned(request, len(rows))
        return {"disclosures": rows}

    started = time.time()
    metrics_cache = RenderCache(METRICS_TTL)

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics(request: Request, who: Public, conn: Db) -> str:
        return metrics_cache.get(lambda: render_metrics(conn, ledger, started))

    def set_token_cookie(request: Request, response: Response, token: str) -> None:
        response.set_cookie(
            COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https"
        )

    def sign_in(request: Request, conn: psycopg.Connection, token: str) -> Response:
        """Sets the cookie only for a token that is valid now, and says so otherwise."""
        info = identify(conn, token)
        _identified(request.scope.setdefault("state", {}), info)
        if info is None or info.status() != "active":
            why = "That token is not valid." if info is None else f"That token has {'been revoked' if info.status() == 'revoked' else 'expired'}."  # fmt: skip
            return HTMLResponse(login_page(why), status_code=401)
        response = RedirectResponse("/", status_code=303)
        set_token_cookie(request, response, token)
        return response

    @app.get("/", response_class=HTMLResponse, responses={200: HTML, 401: HTML, 403: HTML, 303: {"description": "Signed in"}})  # fmt: skip
    def dashboard(
        request: Request, conn: Db, scope: str | None = None, kind: str = "recipient",
        day: Day | None = None, since: str | None = None, until: str | None = None,
        token: str | None = None,
    ) -> Response:  # fmt: skip
        if token:  # a link with ?token= sets the cookie once and drops the token from the URL
            return sign_in(request, conn, token)
        # The page's own form sends empty date fields; an empty field means "no bound".
        try:
            since_day, until_day = (_bounded_day(date.fromisoformat(v)) if v else None for v in (since, until))  # fmt: skip
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
        if RANK[who.role] < RANK["overseer"]:
            return HTMLResponse(
                login_page("This token's role may only use the aggregate API."), status_code=403
            )
        html, count = render_dashboard(conn, kind if kind in ("recipient", "authority", "source") else "recipient",
                                       scope, day, since_day, until_day)  # fmt: skip
        returned(request, count)
        return HTMLResponse(html)

    @app.post("/login", response_class=HTMLResponse, responses={303: {"description": "Signed in"}, 401: HTML})  # fmt: skip
    async def login(request: Request) -> Response:
        form = (await request.body()).decode("utf-8", "replace")
        token = parse_qs(form).get("token", [""])[0]
        request.state.recorded_query = {}  # the form holds the token: never recorded
        return await anyio.to_thread.run_sync(partial(_sign_in_with_pool, pool, sign_in, request, token))  # fmt: skip

    return app


def _ensure_open(pool: ConnectionPool) -> None:
    """Apps used without their lifespan (some tests) open the pool on first use."""
    if pool.closed:
        pool.open(wait=False)


def _sign_in_with_pool(
    pool: ConnectionPool, sign_in: Callable[..., Response], request: Request, token: str
) -> Response:
    _ensure_open(pool)
    with pool.connection() as conn:
        return sign_in(request, conn, token)
