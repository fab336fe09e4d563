"""The PostgreSQL edge: the only package that imports psycopg.

Everything above it holds a ``Connection`` and calls the functions of these modules; driver
errors leave this package as ``DatabaseUnavailableError`` or ``DatabaseRefusedError``.
"""

from ledger.store.connection import (
    Connection,
    DatabaseRefusedError,
    DatabaseUnavailableError,
    connect,
    connection,
    transaction,
)

__all__ = [
    "Connection",
    "DatabaseRefusedError",
    "DatabaseUnavailableError",
    "connect",
    "connection",
    "transaction",
]
