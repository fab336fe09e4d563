"""The demo scenario played once per session on the real services, and the API served over it.

API and browser tests read the same history the README's demo shows: a year of disclosures, the
spike day with its manifest, the court-order story and one malformed message.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn

from consumers.service import start_consumers
from ledger.api import create_app
from ledger.config import Settings, Topics
from ledger.demo.run import run_demo
from ledger.localdev.ports import free_port
from ledger.runtime import Ledger, open_ledger
from ledger.store.connection import connection
from ledger.store.tokens import ROLES, create_token


@dataclass(frozen=True)
class ApiServer:
    url: str
    ledger: Ledger
    tokens: dict[str, str]  # role -> bearer token


@pytest.fixture(scope="session")
def demo_ledger(ledger_settings: Settings) -> Ledger:
    tag = f"demo_{uuid.uuid4().hex[:8]}"
    settings = dataclasses.replace(
        ledger_settings, topics=Topics(f"t.{tag}."), db_schema=f"t_{tag}"
    )
    run_demo(settings, serve=False)
    return open_ledger(settings)


@contextmanager
def served(app: Any) -> Iterator[str]:
    """Serves an ASGI app with uvicorn on a free loopback port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="api-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


@pytest.fixture(scope="session")
def api_server(demo_ledger: Ledger) -> Iterator[ApiServer]:
    """A real uvicorn server on loopback, holding the reader's credentials only (as `ledger
    serve` does); consumers run so that access events reach the log."""
    running = start_consumers(demo_ledger)
    with connection(demo_ledger.admin_url, demo_ledger.schema) as conn:
        tokens = {role: create_token(conn, role, f"test-{role}") for role in ROLES}
    try:
        with served(create_app(demo_ledger.reader_only())) as url:
            yield ApiServer(url, demo_ledger, tokens)
    finally:
        running.stop()
