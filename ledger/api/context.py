"""What every endpoint reaches through the request: the app's ApiContext and a connection.

``create_app`` puts one ``ApiContext`` in ``app.state.context``; dependencies read it from the
request instead of closing over it, so routes live in modules of their own.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any

from fastapi import Depends, Request

from ledger.access_log import AccessLog
from ledger.ops.metrics import RenderCache
from ledger.rules.config import RulesConfig, configured_rules
from ledger.rules.registry import Registry
from ledger.runtime import Ledger
from ledger.store import Connection
from ledger.store.pool import ReaderPool

METRICS_TTL = 5.0  # seconds /metrics reuses its last rendering


@dataclass
class ApiContext:
    ledger: Ledger
    pool: ReaderPool
    audit: AccessLog
    started: float = field(default_factory=time.time)
    metrics: RenderCache = field(default_factory=lambda: RenderCache(METRICS_TTL))

    @cached_property
    def rules(self) -> RulesConfig:
        """The rules and registry the volume consumer uses (LEDGER_RULES_FILE,
        LEDGER_REGISTRY_FILE): the notice-coverage views and scope filters agree with it."""
        s = self.ledger.settings
        return configured_rules(s)

    @property
    def registry(self) -> Registry:
        return self.rules.registry


def context(request: Request) -> ApiContext:
    found: ApiContext = request.app.state.context
    return found


def db(request: Request) -> Iterator[Connection]:
    """A read-only connection for the request; driver errors leave it as LedgerErrors."""
    with context(request).pool.connection() as conn:
        yield conn


Db = Annotated[Connection, Depends(db)]


def returned(request: Request, count: int, query: dict[str, Any] | None = None) -> None:
    """What the access record says came back (and, for some endpoints, what was asked)."""
    request.state.returned = count
    if query is not None:
        request.state.recorded_query = query
