"""The witness service: POST /add-checkpoint verifies, checks consistency, remembers, cosigns.

A plain threaded HTTP server (standard library): the witness holds its key and a state file,
nothing else. Checking a request against the stored latest checkpoint and storing the new one
happen under one lock, so two requests cannot roll the witness back (tlog-witness's race).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ledger.errors import VerificationError
from ledger.tlog import checkpoint as tlog
from ledger.tlog.cosignature import Cosigner, split_note
from ledger.tlog.note import Verifier
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

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024  # 63 proof lines and a checkpoint with a few signatures fit many times


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
        with self.lock:
            try:
                check_add(self.state.latest(origin), request, checkpoint)
            except WitnessRefusalError as refusal:
                if refusal.fork:
                    kind = type(refusal).__name__.removesuffix("Error")
                    self.state.record_evidence(kind, origin, str(refusal), body)
                    log.error(
                        "FORK of %s: %s (evidence kept in %s)", origin, refusal, self.state.path
                    )
                raise
            cosignature = self.cosigner.cosign(text, int(time.time()) if now is None else now)
            self.state.accept(origin, checkpoint, request.note + cosignature.line)
        return cosignature.line


def handler_for(witness: Witness) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

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
                self._answer(409, f"{exc.known_size}\n", "text/x.tlog.size")
            except WitnessRefusalError as exc:
                self._answer(exc.http_status, f"{exc}\n")
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


def serve(witness: Witness, host: str, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), handler_for(witness))
    server.daemon_threads = True
    return server
