"""What recording every API call synchronously costs.

    python -m bench.access_log [REQUESTS]        (default 1,000)

The API answers only once Kafka has acknowledged the call's LedgerAccessed event (acks=all). This
measures that wait three ways on the real local broker: AccessLog.record alone, one after another
and from 8 threads at once (the producer batches whatever queues while a request is in flight),
and whole API requests through uvicorn beside the same requests with recording switched off.
"""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import uvicorn

from bench.common import bench_ledger, report
from bench.proofs import ms
from ledger.access_log import AccessLog
from ledger.api import create_app
from ledger.events import LedgerAccessed
from ledger.localdev.ports import free_port
from ledger.store.connection import connection
from ledger.store.tokens import create_token


class UnrecordedLog(AccessLog):
    """The baseline: builds the event like the real log, sends nothing."""

    def send(self, event: LedgerAccessed) -> None:
        pass


def serve(app: object) -> tuple[uvicorn.Server, str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))  # type: ignore[arg-type]
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def timed_requests(url: str, token: str, n: int) -> list[float]:
    out = []
    with httpx.Client(base_url=url, headers={"authorization": f"Bearer {token}"}) as client:
        for _ in range(20):  # warm-up: connections, pool, producer
            client.get("/api/volume?kind=source&limit=1")
        for _ in range(n):
            t = time.perf_counter()
            r = client.get("/api/volume?kind=source&limit=1")
            out.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text
    return out


def main(n: int) -> None:
    ledger = bench_ledger("access")
    log = AccessLog(ledger.bootstrap, ledger.topics.disclosures, recorded_by="bench")
    for _ in range(20):
        log.record("bench", "public", "GET /api/volume", {"kind": "source"}, 1)

    def one() -> float:
        t = time.perf_counter()
        log.record("bench", "public", "GET /api/volume", {"kind": "source"}, 1)
        return time.perf_counter() - t

    sequential = [one() for _ in range(n)]
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        concurrent = list(pool.map(lambda _: one(), range(n)))
    concurrent_rate = n / (time.perf_counter() - started)
    log.close()

    with connection(ledger.admin_url, ledger.schema) as conn:
        token = create_token(conn, "public", "bench")
    reader = ledger.reader_only()
    results = {}
    for label, audit in (
        ("recorded", AccessLog(ledger.bootstrap, ledger.topics.disclosures, recorded_by="bench")),
        ("unrecorded", UnrecordedLog(ledger.bootstrap, ledger.topics.disclosures)),
    ):
        server, url = serve(create_app(reader, access_log=audit))
        results[label] = timed_requests(url, token, n)
        server.should_exit = True
        time.sleep(0.5)
    p50 = {k: sorted(v)[len(v) // 2] for k, v in results.items()}
    report(
        f"synchronous access log, {n:,} records / requests",
        [
            ("AccessLog.record, one at a time", ms(sequential)),
            ("AccessLog.record, 8 threads", f"{ms(concurrent)}; {concurrent_rate:,.0f} records/s"),
            ("GET /api/volume, recorded", ms(results["recorded"])),
            ("GET /api/volume, unrecorded baseline", ms(results["unrecorded"])),
            ("cost per request (p50)", f"{(p50['recorded'] - p50['unrecorded']) * 1e3:.2f} ms"),
        ],
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
