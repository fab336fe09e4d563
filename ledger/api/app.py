"""FastAPI application: read-only endpoints, bearer tokens with roles, every call audited.

``create_app`` only wires the parts together: the reader pool and access log (``ApiContext``,
ledger/api/context.py), the access recorder (access.py), the error handlers (errors.py) and the
routers (routes/). Every request passes ``check_parameters`` (params.py) first.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import anyio.to_thread
from fastapi import Depends, FastAPI

from ledger.access_log import AccessLog
from ledger.api.access import AccessRecorder
from ledger.api.auth import identify_token
from ledger.api.context import ApiContext
from ledger.api.errors import ERRORS, install_error_handlers
from ledger.api.headers import SecurityHeaders
from ledger.api.limits import ApiLimits, RateLimiter
from ledger.api.params import check_parameters
from ledger.api.refusals import RefusalCounter, record_due, record_forever
from ledger.api.routes import ROUTERS
from ledger.runtime import Ledger
from ledger.store.pool import ReaderPool

log = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    ctx: ApiContext = app.state.context
    refusals: RefusalCounter = app.state.refusals
    ctx.pool.open()
    await anyio.to_thread.run_sync(ctx.audit.connect)  # a first request need not wait for it
    recorder = asyncio.create_task(record_forever(refusals, ctx.audit))
    try:
        yield
    finally:
        recorder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await recorder
        await record_due(refusals, ctx.audit, time.time(), everything=True)
        if len(refusals):  # Kafka did not take them: the server log is the last place to say so
            log.error("%d counts of refused calls could not be recorded", len(refusals))
        await anyio.to_thread.run_sync(ctx.audit.close)
        await anyio.to_thread.run_sync(ctx.pool.close)


def create_app(
    ledger: Ledger, access_log: AccessLog | None = None, limits: ApiLimits | None = None
) -> FastAPI:
    """The app; ``limits`` default to the environment's (LEDGER_API_TOKEN_RATE and others)."""
    audit = access_log or AccessLog(ledger.bootstrap, ledger.topics.disclosures)
    limits = limits or ApiLimits.from_env()
    refusals = RefusalCounter(limits.refused_window)
    pool = ReaderPool(ledger.reader_url, ledger.schema)
    app = FastAPI(
        lifespan=lifespan,
        title="Disclosure Ledger",
        version="1",
        description="Read-only oversight API. Every call is recorded, refused ones included.",
        dependencies=[Depends(check_parameters)],
        responses=ERRORS,
        docs_url=None,  # the Swagger and ReDoc pages load scripts from a CDN; /openapi.json stays
        redoc_url=None,
    )
    app.state.context = ApiContext(ledger, pool, audit)
    app.state.access_log = audit
    app.state.pool = pool
    app.state.refusals = refusals
    app.add_middleware(
        AccessRecorder,
        audit=audit,
        identify_token=partial(identify_token, pool),
        limiter=RateLimiter(limits),
        refusals=refusals,
    )
    app.add_middleware(SecurityHeaders)  # added last: the outermost, so on every response
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    return app
