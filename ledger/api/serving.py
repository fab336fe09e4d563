"""`ledger serve` and the end of `ledger demo`: the API and dashboard on loopback until Ctrl-C.

The server holds the reader role's database credentials only: it cannot write ledger tables,
mint tokens or migrate. Migrations (`ledger migrate`, `ledger up`) and tokens (`ledger token`)
are other commands, run with the administrative URL.
"""

from __future__ import annotations

import secrets

import uvicorn
from rich.console import Console

from ledger.api import create_app
from ledger.errors import ConfigError
from ledger.runtime import Ledger
from ledger.store.connection import connection
from ledger.store.migrate import applied_version, migration_files
from ledger.store.tokens import create_token

console = Console()  # what the terminal shows; the CLI's own helpers sit above this layer


def check_migrated(ledger: Ledger) -> None:
    """Refuses to serve a schema older than this code (the reader cannot migrate it)."""
    latest = max(version for version, _, _ in migration_files())
    with connection(ledger.reader_url, ledger.schema) as conn:
        current = applied_version(conn)
    if current < latest:
        raise ConfigError(
            f"The database schema {ledger.schema!r} is at migration {current} but this version "
            f"needs {latest}: run `ledger migrate` with LEDGER_DATABASE_URL (the administrative "
            "role) first."
        )


def serve(ledger: Ledger, host: str = "127.0.0.1", port: int = 8000) -> None:
    reader = ledger.reader_only()
    check_migrated(reader)
    uvicorn.run(create_app(reader), host=host, port=port, log_level="warning")


def serve_dashboard(ledger: Ledger, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Creates an auditor token for the person at the keyboard, prints it once, and serves."""
    with connection(ledger.admin_url, ledger.schema) as conn:  # only the admin role adds tokens
        # Token names are unique: each run's console token has its own.
        token = create_token(conn, "auditor", f"demo-console-{secrets.token_hex(3)}")
    console.rule("[bold]Dashboard")
    console.print(f"Open http://{host}:{port}/?token={token}", soft_wrap=True, highlight=False)
    console.print(f"API token (auditor, shown once): {token}", soft_wrap=True, highlight=False)
    console.print("Ctrl-C stops the dashboard; `ledger down` stops Kafka and PostgreSQL.")
    serve(ledger, host, port)
