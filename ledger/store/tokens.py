"""API tokens: printed once at creation, stored only as their SHA-256; they expire and are revoked.

Only the administrative role adds tokens and revocations (migration 004); the API reads them as
the reader role. Revocation is an appended row naming who revoked, never an edit.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

import psycopg
from psycopg.rows import dict_row

from ledger.errors import ConfigError
from ledger.privacy import contains_tin_shape
from ledger.storable import text_problem

ROLES = ("auditor", "overseer", "public")
TOKEN_PREFIX = "ldg_"  # noqa: S105 - a recognisable prefix, not a secret
NAME_MAX = 100
_DURATION = re.compile(r"^\s*(\d{1,6})\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


# Names the access log gives callers that are not token holders: a token by one of these names
# would make its calls indistinguishable from theirs in the record (compared case-insensitively).
RESERVED_NAMES = frozenset({"anonymous", "unknown-token"})


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    token_id: str | None = None  # the API token's; None for a principal not from a token


@dataclass(frozen=True)
class TokenInfo:
    token_id: str
    name: str
    role: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None

    def status(self, now: datetime | None = None) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or datetime.now(UTC)):
            return "expired"
        return "active"

    def as_dict(self) -> dict[str, Any]:
        return {
            "token_id": self.token_id,
            "name": self.name,
            "role": self.role,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "revoked_at": self.revoked_at,
            "revoked_by": self.revoked_by,
            "status": self.status(),
        }


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def check_name(name: str) -> str:
    """Names go into every access record as the accessor; they must be storable, short text."""
    name = name.strip()
    if not name:
        raise ConfigError("A token needs a name (who or what uses it).")
    if len(name) > NAME_MAX:
        raise ConfigError(f"A token name has at most {NAME_MAX} characters.")
    problem = text_problem(name)
    if problem:
        raise ConfigError(f"The token name {problem}.")
    if contains_tin_shape(name):
        raise ConfigError("The token name contains something shaped like an SSN, ITIN or EIN.")
    if name.casefold() in RESERVED_NAMES:
        raise ConfigError(
            f"The token name {name!r} is reserved for callers without a token; choose another."
        )
    return name


def _check_unused(conn: psycopg.Connection, name: str) -> None:
    """Token names are unique (case-insensitively, revoked tokens included): access records name
    the accessor, and one name must mean one token holder for as long as the log is kept."""
    # Serialises token creation: two `ledger token create` runs cannot both pass the check.
    conn.execute("LOCK TABLE api_tokens IN SHARE ROW EXCLUSIVE MODE")
    taken = conn.execute(
        "SELECT token_id::text FROM api_tokens WHERE lower(name) = lower(%s) LIMIT 1", (name,)
    ).fetchone()
    if taken is not None:
        conn.rollback()
        raise ConfigError(
            f"A token named {name!r} exists already (token {taken[0]}); token names are unique."
        )


def parse_expiry(
    expires_in: str | None, expires: str | None, tz: tzinfo, now: datetime | None = None
) -> datetime | None:
    """``--expires-in 30d`` (s, m, h, d, w) or ``--expires 2026-01-31`` (the token stops working at
    the start of that day in LEDGER_TIMEZONE); None when neither is given."""
    now = now or datetime.now(UTC)
    if expires_in and expires:
        raise ConfigError("Give --expires-in or --expires, not both.")
    if expires_in:
        m = _DURATION.match(expires_in)
        if not m or int(m.group(1)) == 0:
            raise ConfigError(
                f"--expires-in {expires_in!r}: use a positive number and a unit, e.g. 30d, 12h, 90m, 2w."
            )
        return now + timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    if expires:
        try:
            day = date.fromisoformat(expires)
        except ValueError:
            raise ConfigError(f"--expires {expires!r}: use a date like 2026-01-31.") from None
        moment = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
        if moment <= now:
            raise ConfigError(f"--expires {expires}: that day has already begun.")
        return moment
    return None


def create_token(
    conn: psycopg.Connection, role: str, name: str, expires_at: datetime | None = None
) -> str:
    return issue_token(conn, role, name, expires_at)[0]


def issue_token(
    conn: psycopg.Connection, role: str, name: str, expires_at: datetime | None = None
) -> tuple[str, TokenInfo]:
    """A new token (to print once) and its record."""
    if role not in ROLES:
        raise ConfigError(f"Role {role!r} is not one of {', '.join(ROLES)}.")
    name = check_name(name)
    _check_unused(conn, name)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = uuid.uuid4()
    while contains_tin_shape(str(token_id)):  # the access log would redact it, losing the id
        token_id = uuid.uuid4()
    conn.execute(
        "INSERT INTO api_tokens (token_id, name, role, token_sha256, expires_at)"
        " VALUES (%s, %s, %s, %s, %s)",
        (token_id, name, role, digest(token), expires_at),
    )
    conn.commit()
    return token, find_tokens(conn, str(token_id))[0]


_SELECT = (
    "SELECT t.token_id::text AS token_id, t.name, t.role, t.created_at, t.expires_at,"
    " r.revoked_at, r.revoked_by"
    " FROM api_tokens t LEFT JOIN api_token_revocations r USING (token_id)"
)


def _infos(conn: psycopg.Connection, where: str, params: tuple[Any, ...]) -> list[TokenInfo]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(f"{_SELECT} {where}", params)
        return [TokenInfo(**row) for row in cur.fetchall()]


def identify(conn: psycopg.Connection, token: str) -> TokenInfo | None:
    """The token's record whatever its status, or None for a token we never issued."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    found = _infos(conn, "WHERE t.token_sha256 = %s", (digest(token),))
    return found[0] if found else None


def lookup(conn: psycopg.Connection, token: str) -> Principal | None:
    """The principal of an active (issued, unexpired, unrevoked) token."""
    info = identify(conn, token)
    if info is None or info.status() != "active":
        return None
    return Principal(info.name, info.role, info.token_id)


def list_tokens(conn: psycopg.Connection) -> list[TokenInfo]:
    return _infos(conn, "ORDER BY t.created_at, t.token_id", ())


def find_tokens(conn: psycopg.Connection, name_or_id: str) -> list[TokenInfo]:
    try:
        token_id = str(uuid.UUID(name_or_id))
    except ValueError:
        return _infos(conn, "WHERE t.name = %s ORDER BY t.created_at", (name_or_id.strip(),))
    return _infos(conn, "WHERE t.token_id = %s::uuid", (token_id,))


def revoke_token(
    conn: psycopg.Connection, name_or_id: str, revoked_by: str
) -> tuple[TokenInfo, bool]:
    """Revokes one token by id, or by name when exactly one unrevoked token has that name.

    Returns the token and whether this call revoked it (False: it already was)."""
    found = find_tokens(conn, name_or_id)
    if not found:
        raise ConfigError(f"No token has the name or id {name_or_id!r} (see `ledger token list`).")
    live = [t for t in found if t.revoked_at is None]
    if not live:
        return found[0], False
    if len(live) > 1:
        ids = ", ".join(t.token_id for t in live)
        raise ConfigError(
            f"{len(live)} unrevoked tokens are named {name_or_id!r}; revoke one by its id: {ids}."
        )
    conn.execute(
        "INSERT INTO api_token_revocations (token_id, revoked_by) VALUES (%s::uuid, %s)",
        (live[0].token_id, revoked_by),
    )
    conn.commit()
    return find_tokens(conn, live[0].token_id)[0], True
