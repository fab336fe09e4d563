"""Connections to a ledger schema and the one place driver errors become LedgerErrors.

Callers outside ``ledger.store`` never see psycopg: they hold a ``Connection`` (a type name only),
open units of work with ``transaction``, and catch ``DatabaseUnavailableError`` (retry later) or
``DatabaseRefusedError`` (the data was refused: a record's fault, not the server's).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeAlias

import psycopg

from ledger.errors import ConfigError, LedgerError, ServiceError

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

Connection: TypeAlias = psycopg.Connection[Any]

# SQLSTATE classes that say nothing about the statement's data: connection (08), transaction
# rollback such as deadlock or serialization (40), resources (53), operator intervention such
# as shutdown (57), system (58), internal (XX). Data (22), integrity (23) or program-limit (54)
# errors do.
_UNAVAILABLE_CLASSES = frozenset({"08", "40", "53", "57", "58", "XX"})


class DatabaseUnavailableError(ServiceError):
    """PostgreSQL could not be reached or gave up on the transaction; trying again may work."""


class DatabaseRefusedError(LedgerError):
    """PostgreSQL refused the statement because of the data in it (too long, out of range, ...)."""


def translate(exc: psycopg.Error) -> LedgerError:
    """The LedgerError a driver error means; the message is one line without the data."""
    first = (str(exc).strip().splitlines() or [""])[0]
    name = type(exc).__name__
    if isinstance(exc, psycopg.InterfaceError) or exc.sqlstate is None:
        return DatabaseUnavailableError(f"PostgreSQL is unavailable ({name}: {first}).")
    if exc.sqlstate[:2] in _UNAVAILABLE_CLASSES:
        return DatabaseUnavailableError(f"PostgreSQL gave up on the transaction ({name}: {first}).")
    return DatabaseRefusedError(f"PostgreSQL refused the data ({name}: {first}).")


def check_schema_name(schema: str) -> str:
    # The name goes into a libpq options string, so it must be a plain identifier.
    if not _SCHEMA_NAME.match(schema):
        raise ConfigError(
            f"Schema name {schema!r} must be lower-case letters, digits and underscores."
        )
    return schema


def connect(url: str, schema: str, *, autocommit: bool = False) -> Connection:
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
        raise DatabaseUnavailableError(
            f"Cannot connect to PostgreSQL: {str(exc).strip().splitlines()[0]}. "
            "Is it running (`ledger up`) and is LEDGER_DATABASE_URL right?"
        ) from exc


@contextmanager
def connection(url: str, schema: str, *, autocommit: bool = False) -> Iterator[Connection]:
    conn = connect(url, schema, autocommit=autocommit)
    try:
        with driver_errors():
            yield conn
    finally:
        conn.close()


@contextmanager
def driver_errors() -> Iterator[None]:
    """Re-raises any psycopg error inside the block as the LedgerError it means."""
    try:
        yield
    except psycopg.Error as exc:
        raise translate(exc) from exc


@contextmanager
def transaction(conn: Connection) -> Iterator[None]:
    """A unit of work (a savepoint when nested): all of it commits or none of it does."""
    with driver_errors(), conn.transaction():
        yield


def reopen(conn: Connection, url: str, schema: str, *, autocommit: bool = False) -> Connection:
    """The same connection if it still works (rolled back), or a new one."""
    if conn.closed or conn.broken:
        with suppress(psycopg.Error):  # it is broken already; a new one follows
            conn.close()
        return connect(url, schema, autocommit=autocommit)
    with driver_errors():
        conn.rollback()
    return conn


def server_unreachable(exc: BaseException) -> bool:
    """A driver error no call site translated that means the server is down or unreachable."""
    return isinstance(exc, psycopg.OperationalError)
