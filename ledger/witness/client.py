"""The ledger's side of tlog-witness: which witnesses to ask (LEDGER_WITNESSES) and one request."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass

from ledger.errors import ConfigError, VerificationError
from ledger.tlog.cosignature import CosignatureVerifier
from ledger.tlog.witness_protocol import AddCheckpoint

TIMEOUT = 5.0  # seconds; a slow witness is asked again next round, never waited on longer
MAX_ANSWER = 64 * 1024  # a cosignature line is ~150 bytes; more is not read


@dataclass(frozen=True)
class WitnessEndpoint:
    url: str  # the submission prefix; requests go to <url>/add-checkpoint
    verifier: CosignatureVerifier

    @property
    def name(self) -> str:
        return self.verifier.name


@dataclass(frozen=True)
class WitnessAnswer:
    status: int  # 0 when the witness could not be reached
    body: str


def parse_witnesses(spec: str) -> list[WitnessEndpoint]:
    """``URL VKEY`` pairs separated by ``;`` or newlines (LEDGER_WITNESSES)."""
    found = []
    for item in spec.replace("\n", ";").split(";"):
        if not item.strip():
            continue
        parts = item.split()
        if len(parts) != 2 or not parts[0].startswith(("http://", "https://")):
            raise ConfigError(
                "LEDGER_WITNESSES holds 'URL VKEY' pairs separated by ';' "
                "(e.g. 'http://127.0.0.1:7380 witness.example+1a2b3c4d+BB...')."
            )
        try:
            verifier = CosignatureVerifier.from_vkey(parts[1])
        except VerificationError as exc:
            raise ConfigError(f"LEDGER_WITNESSES: {exc}") from None
        found.append(WitnessEndpoint(parts[0].rstrip("/"), verifier))
    return found


def add_checkpoint(endpoint: WitnessEndpoint, request: AddCheckpoint) -> WitnessAnswer:
    http = urllib.request.Request(  # noqa: S310 (the operator's configured http(s) URL)
        f"{endpoint.url}/add-checkpoint",
        data=request.to_bytes(),
        method="POST",
        headers={"Content-Type": "text/plain; charset=utf-8"},
    )
    try:
        with urllib.request.urlopen(http, timeout=TIMEOUT) as response:  # noqa: S310
            body = response.read(MAX_ANSWER)
            return WitnessAnswer(response.status, body.decode("utf-8", "replace"))
    except urllib.error.HTTPError as exc:
        return WitnessAnswer(exc.code, exc.read(MAX_ANSWER).decode("utf-8", "replace"))
    except (urllib.error.URLError, OSError) as exc:
        return WitnessAnswer(0, str(getattr(exc, "reason", exc)))
