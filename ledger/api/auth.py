"""Who is calling: bearer tokens (or the dashboard's cookie), roles, and the principal.

``AccessRecorder`` identifies the presented token before anything reads the request body and
leaves the outcome in the request state; the dependencies here turn that state into a
``Principal`` or a refusal (401, 403, or 503 when the token could not be checked).
"""

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response
from starlette.types import Scope

from ledger.store.pool import ReaderPool
from ledger.store.tokens import Principal, TokenInfo, identify

RANK = {"public": 0, "overseer": 1, "auditor": 2}
COOKIE = "ledger_token"


def at_least(who: Principal, minimum: str) -> bool:
    return RANK[who.role] >= RANK[minimum]


def presented_token(scope: Scope) -> str:
    """The bearer token of the Authorization header, else the dashboard's cookie, else ""."""
    request = Request(scope)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(COOKIE, "")


def identify_token(pool: ReaderPool, token: str) -> TokenInfo | None:
    with pool.connection() as conn:
        return identify(conn, token)


def identified(state: dict[str, Any], info: TokenInfo | None) -> None:
    """Records in the request state whose token it was and whether it may be used now."""
    if info is None:
        state["accessor"], state["accessor_role"] = "unknown-token", "none"
        return
    state["token_id"] = info.token_id
    status = info.status()
    if status == "active":
        state["principal"] = Principal(info.name, info.role, info.token_id)
    else:  # an expired or revoked token still tells whose it was; the call is refused
        state["accessor"], state["accessor_role"] = info.name, info.role
        state["token_status"] = status


def principal(request: Request) -> Principal:
    found: Principal | None = getattr(request.state, "principal", None)
    if found is not None:
        return found
    if getattr(request.state, "auth_unavailable", False):
        raise HTTPException(503, "the token could not be checked: the database is unreachable")
    status = getattr(request.state, "token_status", None)
    if status:
        how = "revoked" if status == "revoked" else "expired"
        raise HTTPException(401, f"this token has been {how}")
    raise HTTPException(401, "a valid bearer token is required")


def role(minimum: str) -> Any:
    """A dependency: the caller's principal, if its role ranks at least ``minimum``."""

    def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if not at_least(who, minimum):
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


def set_token_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
