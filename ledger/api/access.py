"""The access recorder: every call is recorded in the ledger before its answer goes out.

Every request except ``/health`` and ``/openapi.json`` passes through ``AccessRecorder``, which
identifies the caller's token before anything reads the request body, applies the rate limits
(limits.py: 429 with Retry-After), caps the body at ``MAX_BODY`` bytes, and records a
LedgerAccessed event with the response's status and token id *before* the response goes out: a
refused call (401, 403, 404, 405, 413, 422, 429) is recorded like a served one, and when Kafka
does not acknowledge the record the caller gets 503 instead of the response. The one exception:
refused calls without a valid token are counted per window and recorded compactly
(refusals.py), so that nobody can fill the log with them.
"""

import json
import logging
import re
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import anyio.to_thread
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.access_log import AccessLog, AccessLogUnavailableError
from ledger.api.auth import identified, presented_token
from ledger.api.limits import RateLimiter
from ledger.api.refusals import UNIDENTIFIED, RefusalCounter
from ledger.store.tokens import Principal, TokenInfo

log = logging.getLogger(__name__)

MAX_BODY = 16 * 1024  # bytes; the only body the API takes is {"tin": "..."} or a login form
UNRECORDED = frozenset({"/health", "/openapi.json"})  # serve no ledger data
CREDENTIAL_PARAMS = frozenset({"token"})  # recorded as redacted, never as given
UNRECORDED_ERROR = (
    "the access log is unavailable (Kafka did not acknowledge the access record), so nothing "
    "is served; try again shortly"
)


class BodyTooLargeError(Exception):
    pass


async def _send_json(
    send: Send, status: int, body: dict[str, Any], extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": data})


def _matching_route(scope: Scope) -> Any:
    """The route a call refused before routing (429) was for, so its record names it."""

    def walk(routes: Any) -> Any:
        for route in routes:
            inner = getattr(route, "original_router", None)  # FastAPI's included routers
            if inner is not None:
                found = walk(inner.routes)
                if found is not None:
                    return found
            elif isinstance(getattr(route, "path", None), str):
                match, child = route.matches(scope)
                if match == Match.FULL:
                    scope.setdefault("path_params", child.get("path_params", {}))
                    return route
        return None

    return walk(getattr(getattr(scope.get("app"), "router", None), "routes", ()))


def client_address(scope: Scope) -> str:
    """The peer's address (a proxy in front of the server is the peer: see docs/api.md)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class AccessRecorder:
    """Pure ASGI middleware: identify the token, cap the body, record the access, then answer."""

    def __init__(
        self,
        app: ASGIApp,
        audit: AccessLog,
        identify_token: Callable[[str], TokenInfo | None],
        limiter: RateLimiter,
        refusals: RefusalCounter,
    ) -> None:
        self.app = app
        self.audit = audit
        self.identify_token = identify_token
        self.limiter = limiter
        self.refusals = refusals

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNRECORDED:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        token = presented_token(scope)
        if token:  # before anything reads the body
            try:
                info = await anyio.to_thread.run_sync(self.identify_token, token)
            except Exception:  # the database: the endpoint answers 503, recorded
                log.exception("token lookup failed")
                state["auth_unavailable"] = True
            else:
                identified(state, info)

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
                    await _send_json(send, 503, {"error": UNRECORDED_ERROR})
                    return
            elif message["type"] == "http.response.body" and replaced:
                return
            await send(message)

        limited = self.limiter.check(state.get("token_id"), client_address(scope), time.monotonic())
        if limited is not None:
            what, retry = limited
            whose = "this token" if what == "token" else "this address"
            error = f"too many calls from {whose}; try again in {retry} s"
            await _send_json(
                recording_send, 429, {"error": error}, [(b"retry-after", b"%d" % retry)]
            )
            return

        try:
            await self.app(scope, capped_receive, recording_send)
        except Exception as exc:
            if started:
                raise
            # The details go to the server log for the operator; the caller gets one plain line.
            log.error("%s %s failed", scope.get("method"), scope.get("path"), exc_info=exc)
            await recording_send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
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
        route = scope.get("route") or _matching_route(scope)
        action = f"{method} {route.path}" if route is not None else f"{method} [no such endpoint]"
        if who is None and accessor in UNIDENTIFIED and 400 <= status < 500:
            # Serves nothing and costs the caller nothing: counted, not recorded one by one.
            self.refusals.add(client_address(scope), accessor, status, action, time.time())
            return True
        query: Any = state.get("recorded_query")
        if query is None:
            query = [
                (k, "[redacted: credential]" if k in CREDENTIAL_PARAMS else v)
                for k, v in QueryParams(scope.get("query_string", b"")).multi_items()
            ]
            query += [(k, str(v)) for k, v in (scope.get("path_params") or {}).items()]
            if route is None:
                query.append(("path", str(scope.get("path", ""))))
        returned = int(state.get("returned", 0)) if status < 400 else 0
        token_id = who.token_id if who else state.get("token_id")
        try:
            await anyio.to_thread.run_sync(
                partial(
                    self.audit.send,
                    self.audit.event(accessor, role, action, query, returned, status, token_id),
                )
            )
        except AccessLogUnavailableError:
            return False
        except Exception:
            log.exception("could not record an access")
            return False
        return True
