"""A pool of read-only connections for the API, with driver errors mapped like everywhere else.

A connection taken from ``ReaderPool.connection()`` reads as the reader role in the ledger's
schema, inside read-only transactions that PostgreSQL cancels after 30 seconds. A driver error
raised while it is held, or no connection within the pool's timeout, leaves as the LedgerError
it means (``DatabaseUnavailableError``: the API answers 503), as ``driver_errors`` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from psycopg_pool import ConnectionPool

from ledger.store.connection import Connection, check_schema_name, driver_errors

STATEMENT_TIMEOUT_MS = 30_000


class ReaderPool:
    """Opened by the app's lifespan; used without it (some tests), it opens on first use."""

    def __init__(
        self,
        url: str,
        schema: str,
        *,
        name: str = "ledger-api",
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 10,
    ) -> None:
        check_schema_name(schema)
        options = (
            f"-c search_path={schema} -c default_transaction_read_only=on"
            f" -c statement_timeout={STATEMENT_TIMEOUT_MS}"
        )
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            url,
            kwargs={"autocommit": True, "options": options, "connect_timeout": 10},
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            check=ConnectionPool.check_connection,
            name=name,
            open=False,
        )

    def open(self) -> None:
        """Starts connecting in the background; the first ``connection()`` waits for one."""
        self._pool.open(wait=False)

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        if self._pool.closed:
            self._pool.open(wait=False)
        # driver_errors outermost: PoolTimeout (no connection in time) is a driver error too.
        with driver_errors(), self._pool.connection() as conn:
            yield conn
