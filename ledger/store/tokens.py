"""API tokens: printed once at creation, stored only as their SHA-256."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass

import psycopg

from ledger.errors import ConfigError

ROLES = ("auditor", "overseer", "public")
TOKEN_PREFIX = "ldg_"  # noqa: S105 - a recognisable prefix, not a secret


@dataclass(frozen=True)
class Principal:
    name: str
    role: str


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def create_token(conn: psycopg.Connection, role: str, name: str) -> str:
    if role not in ROLES:
        raise ConfigError(f"Role {role!r} is not one of {', '.join(ROLES)}.")
    if not name.strip():
        raise ConfigError("A token needs a name (who or what uses it).")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO api_tokens (token_id, name, role, token_sha256) VALUES (%s, %s, %s, %s)",
        (uuid.uuid4(), name, role, digest(token)),
    )
    conn.commit()
    return token


def lookup(conn: psycopg.Connection, token: str) -> Principal | None:
    row = conn.execute(
        "SELECT t.name, t.role FROM api_tokens t WHERE t.token_sha256 = %s"
        " AND NOT EXISTS (SELECT 1 FROM api_token_revocations r WHERE r.token_id = t.token_id)",
        (digest(token),),
    ).fetchone()
    return Principal(row[0], row[1]) if row else None
