"""The witness service: POST /add-checkpoint verifies, checks consistency, remembers, cosigns.

A plain threaded HTTP server (standard library): the witness holds its key and a state file,
nothing else. Checking a request against the stored latest checkpoint and storing the new one
happen under one lock, so two requests cannot roll the witness back (tlog-witness's race).

Anyone can reach a witness, so what one request can cost is bounded: a body of at most 64 KiB,
a socket timeout on every read and write and a deadline on each connection (a stalled or
trickling client is cut off), at most ``max_connections`` connections served at once (one more
is answered 503 at once, not given a thread), a listen backlog of 128, and a state that keeps
only what the log's keys signed.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ledger.errors import VerificationError
from ledger.tlog import checkpoint as tlog
from ledger.tlog.cosignature import Cosigner, split_note
from ledger.tlog.note import Verifier, signature_of
from ledger.tlog.witness_protocol import (
    AddCheckpoint,
    MalformedRequestError,
    StaleOldSizeError,
    UnknownLogError,
    UntrustedSignatureError,
    WitnessRefusalError,
    check_add,
)
from ledger.witness.state import WitnessState
from ledger.witness.statuses import refusal_status_of

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024  # 63 proof lines and a checkpoint with a few signatures fit many times
MAX_NOTE = 8 * 1024  # a checkpoint and its log's signatures, as kept; a ledger's is < 1 KiB
SOCKET_TIMEOUT = 10.0  # seconds a read or write may stall before the connection is dropped
CONNECTION_DEADLINE = 30.0  # seconds a connection may last at all: a byte every 9 s is no request
MAX_CONNECTIONS = 64
BACKLOG = 128
BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: 36\r\n\r\n"
    b"the witness is busy; try again soon\n"
)


def signed_part(note: str, verifiers: list[Verifier]) -> str:
    """The note with only its signature lines from ``verifiers`` (already verified): what is
    kept, so padding a public checkpoint with other lines cannot grow the state."""
    text, lines = split_note(note)
    keys = {(v.name, v.key_id) for v in verifiers}
    kept = []
    for line in lines:
        name, raw = signature_of(line)
        if (name, raw[:4]) in keys:
            kept.append(line + "\n")
    return text + "\n" + "".join(kept)


@dataclass
class Witness:
    cosigner: Cosigner
    log_keys: list[Verifier]
    state: WitnessState
    origin_prefixes: list[str] = field(default_factory=list)  # empty: any origin the keys sign
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_checkpoint(self, body: bytes, now: int | None = None) -> str:
        """The cosignature line for a valid request; raises a WitnessRefusalError otherwise."""
        request = AddCheckpoint.parse(body)
        try:
            text, _ = split_note(request.note)
            origin = tlog.Checkpoint.parse(text).origin
        except VerificationError as exc:
            raise MalformedRequestError(f"the checkpoint is malformed: {exc}") from None
        if self.origin_prefixes and not any(origin.startswith(p) for p in self.origin_prefixes):
            raise UnknownLogError(f"this witness does not follow the log {origin!r}")
        try:
            checkpoint = tlog.verify(request.note, self.log_keys)
        except VerificationError as exc:
            raise UntrustedSignatureError(
                f"the checkpoint's signature does not verify: {exc}"
            ) from None
        note = signed_part(request.note, self.log_keys)
        if len(note.encode()) > MAX_NOTE:
            raise MalformedRequestError(f"the signed checkpoint is over {MAX_NOTE} bytes")
        with self.lock:
            if self.state.full(origin):
                raise UnknownLogError(
                    f"this witness follows {self.state.max_logs} logs, its limit, and not {origin!r}"
                )
            try:
                check_add(self.state.latest(origin), request, checkpoint)
            except WitnessRefusalError as refusal:
                if refusal.fork:
                    self._keep_evidence(origin, refusal, note)
                raise
            cosignature = self.cosigner.cosign(text, int(time.time()) if now is None else now)
            self.state.accept(origin, checkpoint, note + cosignature.line)
        return cosignature.line

    def _keep_evidence(self, origin: str, refusal: WitnessRefusalError, note: str) -> None:
        """Kept only when both checkpoints verify under the log's keys now: two signed
        statements the log cannot both stand by (a key since removed proves nothing)."""
        cosigned = self.state.latest_note(origin)
        try:
            tlog.verify(cosigned or "", self.log_keys)
        except VerificationError:
            return
        kind = type(refusal).__name__.removesuffix("Error")
        if self.state.record_evidence(kind, origin, str(refusal), note):
            log.error("FORK of %s: %s (evidence kept in %s)", origin, refusal, self.state.path)


def handler_for(witness: Witness) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = SOCKET_TIMEOUT  # applied to the socket by StreamRequestHandler.setup

        def _answer(
            self, status: int, body: str, content_type: str = "text/plain; charset=utf-8"
        ) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            if self.path != "/add-checkpoint":
                self._answer(404, "not found: this witness serves POST /add-checkpoint\n")
                return
            length = self.headers.get("Content-Length", "")
            if not length.isdigit() or int(length) > MAX_BODY:
                self.close_connection = True
                self._answer(
                    413 if length.isdigit() else 411,
                    "a body of at most 64 KiB with Content-Length\n",
                )
                return
            body = self.rfile.read(int(length))
            try:
                line = witness.add_checkpoint(body)
            except StaleOldSizeError as exc:
                self._answer(refusal_status_of(exc), f"{exc.known_size}\n", "text/x.tlog.size")
            except WitnessRefusalError as exc:
                self._answer(refusal_status_of(exc), f"{exc}\n")
            else:
                self._answer(200, line)

        def do_GET(self) -> None:
            self._answer(
                405 if self.path == "/add-checkpoint" else 404,
                "this witness serves POST /add-checkpoint\n",
            )

        def log_message(self, format: str, *args: object) -> None:
            log.info("%s %s", self.address_string(), format % args)

    return Handler


class WitnessServer(ThreadingHTTPServer):
    """One thread per connection, up to ``max_connections``; beyond that a 503 at once."""

    daemon_threads = True
    request_queue_size = BACKLOG  # socketserver's default of 5 drops bursts of connections

    def __init__(self, address: tuple[str, int], handler: Any, max_connections: int) -> None:
        self.slots = threading.BoundedSemaphore(max_connections)
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            with contextlib.suppress(OSError):
                request.settimeout(1.0)
                request.sendall(BUSY)
            self.shutdown_request(request)  # SHUT_WR first, so the 503 is delivered
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        # Past the deadline the socket is shut down, so a blocked read returns and the thread ends.
        deadline = threading.Timer(CONNECTION_DEADLINE, _cut, (request,))
        deadline.daemon = True
        deadline.start()
        try:
            super().process_request_thread(request, client_address)
        finally:
            deadline.cancel()
            self.slots.release()


def _cut(request: Any) -> None:
    with contextlib.suppress(OSError):
        request.shutdown(socket.SHUT_RDWR)


def serve(
    witness: Witness, host: str, port: int, max_connections: int = MAX_CONNECTIONS
) -> ThreadingHTTPServer:
    return WitnessServer((host, port), handler_for(witness), max_connections)
