"""The PostgreSQL server itself, before any ledger schema: is it up, does the database exist."""

from __future__ import annotations

import time

import psycopg
from psycopg import sql


def wait_accepting(server_url: str, timeout: float) -> str | None:
    """Waits until the server accepts connections; None when it does, else the last error."""
    deadline = time.monotonic() + timeout
    last = "no attempt"
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(server_url, connect_timeout=3):
                return None
        except psycopg.OperationalError as exc:
            last = str(exc).strip()
        time.sleep(0.2)
    return last


def ensure_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
