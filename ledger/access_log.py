"""Oversight of the overseers: every API call and CLI query becomes a LedgerAccessed event."""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

from ledger.intake import build_event
from ledger.kafka.producer import EventProducer

log = logging.getLogger(__name__)


class AccessLog:
    """Sends LedgerAccessed events to the disclosures topic from a background thread.

    Queries are never slowed by Kafka; ``close`` flushes what is queued. Query parameters are
    recorded as text, and callers must never pass a TIN (the accounting endpoint records only
    that an accounting was made).
    """

    def __init__(self, bootstrap: str, topic: str, recorded_by: str = "ledger-api") -> None:
        self.producer = EventProducer(bootstrap, topic, linger_ms=5)
        self.recorded_by = recorded_by
        self.queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="access-log", daemon=True)
        self.thread.start()

    def record(
        self,
        accessor: str,
        role: str,
        action: str,
        query: dict[str, Any],
        returned: int,
        status: int = 200,
    ) -> None:
        self.queue.put({
            "type": "LedgerAccessed", "recorded_by": self.recorded_by, "accessor": accessor, "role": role,
            "action": action, "query": {k: str(v) for k, v in query.items() if v is not None},
            "records_returned": int(returned), "status": int(status),
        })  # fmt: skip

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            try:
                self.producer.send([build_event(item)])
            except Exception:  # an access record must never take the API down; it is logged loudly
                log.exception("could not record an access event")

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join(30)
        self.producer.close()
