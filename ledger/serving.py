"""`ledger serve` and the end of `ledger demo`: the API and dashboard on loopback until Ctrl-C."""

from __future__ import annotations

import uvicorn

from ledger.api import create_app
from ledger.cli_output import console
from ledger.runtime import Ledger
from ledger.store.connection import connection
from ledger.store.tokens import create_token


def serve(ledger: Ledger, host: str = "127.0.0.1", port: int = 8000) -> None:
    uvicorn.run(create_app(ledger), host=host, port=port, log_level="warning")


def serve_dashboard(ledger: Ledger, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Creates an auditor token for the person at the keyboard, prints it once, and serves."""
    with connection(ledger.writer_url, ledger.schema) as conn:
        token = create_token(conn, "auditor", "demo-console")
    console.rule("[bold]Dashboard")
    console.print(f"Open http://{host}:{port}/?token={token}", soft_wrap=True, highlight=False)
    console.print(f"API token (auditor, shown once): {token}", soft_wrap=True, highlight=False)
    console.print("Ctrl-C stops the dashboard; `ledger down` stops Kafka and PostgreSQL.")
    serve(ledger, host, port)
