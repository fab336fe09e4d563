"""Opening connections to a ledger schema, with driver errors mapped onto LedgerError."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from ledger.errors import ConfigError, ServiceError

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_schema_name(schema: str) -> str:
    # The name goes into a libpq options string, so it must be a plain identifier.
    if not _SCHEMA_NAME.match(schema):
        raise ConfigError(
            f"Schema name {schema!r} must be lower-case letters, digits and underscores."
        )
    return schema


def connect(url: str, schema: str, *, autocommit: bool = False) -> psycopg.Connection:
    """A connection whose unqualified table names resolve in ``schema``."""
    check_schema_name(schema)
    if not url:
        # `ledger serve` holds the reader's credentials only (Ledger.reader_only).
        raise ConfigError("This process holds no credentials for that database role.")
    try:
        return psycopg.connect(
            url, autocommit=autocommit, options=f"-c search_path={schema}", connect_timeout=10
        )
    except psycopg.OperationalError as exc:
        raise ServiceError(
            f"Cannot connect to PostgreSQL: {str(exc).strip().splitlines()[0]}. "
            "Is it running (`ledger up`) and is LEDGER_DATABASE_URL right?"
        ) from exc


@contextmanager
def connection(url: str, schema: str, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    conn = connect(url, schema, autocommit=autocommit)
    try:
        yield conn
    finally:
        conn.close()
