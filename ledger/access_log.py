"""Oversight of the overseers: every API call and CLI query becomes a LedgerAccessed event.

Nothing a caller sends can keep its access out of the log:

- ``record`` returns only once Kafka has acknowledged the event (acks=all, idempotent producer);
  otherwise it raises AccessLogUnavailableError and the API answers 503 instead of serving anything
  unrecorded. After a failure the log refuses at once for ``retry_after`` seconds (a caller does
  not wait ``timeout`` on every request while Kafka is down), then tries again.
- every text that goes into the event passes through ``recordable``: a value the projections
  could not store (NUL, lone surrogates), anything shaped like an SSN, ITIN or EIN, or like a
  taxpayer ref, is replaced by a note saying why, never dropped; overlong values are cut and
  say so. If the event still does not validate, its parameters are replaced by a note: the
  access is recorded all the same.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from ledger.codec import EventCodec
from ledger.errors import EventValidationError, ServiceError
from ledger.events import LedgerAccessed
from ledger.intake import build_event
from ledger.kafka.client import client_config
from ledger.privacy import contains_tin_shape
from ledger.storable import record_problems, text_problem

log = logging.getLogger(__name__)

MAX_PARAMS = 32  # parameters recorded per access; the rest are counted
MAX_TEXT = 512  # characters recorded per value
REDACTED_TIN = "[redacted: shaped like an SSN, ITIN or EIN]"
REDACTED_REF = "[redacted: shaped like a taxpayer ref]"
NOT_RECORDED = "[not recorded]"
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


class AccessLogUnavailableError(ServiceError):
    """Kafka did not acknowledge an access record; nothing may be served unrecorded."""


def recordable(text: str) -> str:
    """``text`` as it may enter the log: unchanged, cut, or replaced by the reason it cannot."""
    problem = text_problem(text)
    if problem:
        return f"[redacted: {problem}]"
    if contains_tin_shape(text):
        return REDACTED_TIN
    if _HEX64.search(text):
        return REDACTED_REF
    if len(text) > MAX_TEXT:
        head = text[:MAX_TEXT]
        if contains_tin_shape(head):  # cutting a longer digit run can leave nine digits
            return REDACTED_TIN
        return f"{head}…[truncated: {len(text)} characters]"
    return text


def recordable_query(params: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Parameters (repeated names kept apart) as a map the LedgerAccessed schema can carry."""
    out: dict[str, str] = {}
    extra = 0
    for name, value in params:
        if len(out) >= MAX_PARAMS:
            extra += 1
            continue
        key = base = recordable(str(name))
        n = 2
        while key in out:
            key, n = f"{base} ({n})", n + 1
        out[key] = recordable(str(value))
    if extra:
        out[NOT_RECORDED] = f"{extra} more parameter(s)"
    return out


@dataclass(eq=False)
class AccessLog:
    """Sends LedgerAccessed events to the disclosures topic and waits for Kafka's acknowledgement.

    The producer sends at once (linger 0) and batches whatever concurrent requests queue while a
    request is in flight, so a request pays about one broker round trip. Callers must never pass
    a TIN; the accounting endpoint records only that an accounting was made.
    """

    bootstrap: str
    topic: str
    recorded_by: str = "ledger-api"
    _: KW_ONLY
    timeout: float = 3.0
    retry_after: float = 2.0
    codec: EventCodec = field(default_factory=EventCodec, init=False, repr=False)
    _producer: KafkaProducer | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _down_until: float = field(default=0.0, init=False, repr=False)
    _last_error: str = field(default="", init=False, repr=False)

    @property
    def healthy(self) -> bool:
        return time.monotonic() >= self._down_until

    def event(
        self,
        accessor: str,
        role: str,
        action: str,
        query: Mapping[str, Any] | Iterable[tuple[str, Any]],
        returned: int,
        status: int = 200,
        token_id: str | None = None,
    ) -> LedgerAccessed:
        """The LedgerAccessed event for one access (by the token ``token_id``, when one was
        presented and known); never raises for what the caller sent."""
        pairs = query.items() if isinstance(query, Mapping) else query
        item: dict[str, Any] = {
            "type": "LedgerAccessed",
            "recorded_by": self.recorded_by,
            "accessor": recordable(accessor),
            "role": recordable(role),
            "action": recordable(action),
            "query": recordable_query((k, v) for k, v in pairs if v is not None),
            "records_returned": max(0, min(int(returned), 2**53)),
            "status": int(status),
            "token_id": token_id,
        }
        try:
            event = build_event(item)
            if isinstance(event, LedgerAccessed) and not record_problems(event.to_record()):
                return event
        except EventValidationError:
            pass
        # Belt and braces: whatever slipped past ``recordable``, the access itself is recorded.
        item["query"] = {NOT_RECORDED: "the request's parameters could not be recorded"}
        event = build_event(item)
        assert isinstance(event, LedgerAccessed)
        return event

    def send(self, event: LedgerAccessed) -> None:
        """Records one access (``event(...)``); returns once Kafka acknowledged it, else raises
        AccessLogUnavailableError."""
        producer = self._ready_producer()
        value = self.codec.encode(event)
        try:
            future = producer.send(
                self.topic,
                value=value,
                key=event.key.encode("utf-8"),
                headers=[("event_type", event.event_type.encode("ascii"))],
            )
            future.get(timeout=self.timeout)
        except KafkaError as exc:
            self._failed(producer, f"Kafka did not acknowledge the access record: {exc}")
            raise AccessLogUnavailableError(self._last_error) from exc

    def _ready_producer(self) -> KafkaProducer:
        with self._lock:
            if not self.healthy:
                raise AccessLogUnavailableError(self._last_error)
            if self._producer is None:
                ms = int(self.timeout * 1000)
                try:
                    self._producer = KafkaProducer(
                        **client_config(self.bootstrap),
                        acks="all",
                        enable_idempotence=True,
                        linger_ms=0,
                        max_block_ms=ms,
                        bootstrap_timeout_ms=ms,
                        request_timeout_ms=ms,
                        delivery_timeout_ms=ms,
                        client_id="ledger-access-log",
                    )
                except KafkaError as exc:
                    self._down(f"Cannot reach Kafka at {self.bootstrap} to record accesses: {exc}")
                    raise AccessLogUnavailableError(self._last_error) from exc
            return self._producer

    def _down(self, reason: str) -> None:
        self._down_until = time.monotonic() + self.retry_after
        if reason != self._last_error:
            log.error("access log unavailable: %s", reason)
        self._last_error = reason

    def _failed(self, producer: KafkaProducer, reason: str) -> None:
        # A producer whose batches expired may be left in an unusable state: start afresh later.
        with self._lock:
            self._down(reason)
            if self._producer is producer:
                self._producer = None
        try:
            producer.close(timeout=0)
        except Exception:  # closing a broken producer must not mask the real failure
            log.debug("closing the failed access-log producer", exc_info=True)

    def connect(self) -> bool:
        """Opens the producer ahead of the first request; False (and logged) if Kafka is down."""
        try:
            self._ready_producer()
        except AccessLogUnavailableError:
            return False
        return True

    def close(self) -> None:
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            producer.close(timeout=self.timeout)
