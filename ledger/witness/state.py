"""A witness's memory: the latest checkpoint it cosigned per log, and the evidence of forks it saw.

One JSON file in the witness's own directory, rewritten whole (temporary file, fsync, rename) so
a crash leaves the old state or the new one, never half of each. No database is needed.
"""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path
from typing import Any

from ledger.errors import ConfigError
from ledger.tlog.checkpoint import Checkpoint
from ledger.tlog.witness_protocol import Known


class WitnessState:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = {"logs": {}, "evidence": []}
        if path.exists():
            try:
                self.data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ConfigError(f"Cannot read the witness state {path}: {exc}") from exc
            if not isinstance(self.data.get("logs"), dict):
                raise ConfigError(f"{path} is not a witness state file.")

    def latest(self, origin: str) -> Known | None:
        found = self.data["logs"].get(origin)
        if found is None:
            return None
        return Known(int(found["size"]), base64.b64decode(found["root_hash"]))

    def latest_note(self, origin: str) -> str | None:
        found = self.data["logs"].get(origin)
        return None if found is None else str(found["note"])

    def accept(self, origin: str, checkpoint: Checkpoint, cosigned_note: str) -> None:
        self.data["logs"][origin] = {
            "size": checkpoint.size,
            "root_hash": base64.b64encode(checkpoint.root_hash).decode(),
            "note": cosigned_note,
            "at": int(time.time()),
        }
        self.save()

    def record_evidence(self, kind: str, origin: str, reason: str, request: bytes) -> None:
        """Keeps both sides of a fork: what this witness cosigned, and what it was then sent."""
        self.data.setdefault("evidence", []).append(
            {
                "kind": kind,
                "origin": origin,
                "at": int(time.time()),
                "reason": reason,
                "cosigned_note": self.latest_note(origin),
                "request": request.decode("utf-8", errors="replace"),
            }
        )
        self.save()

    def evidence(self) -> list[dict[str, Any]]:
        return list(self.data.get("evidence", []))

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(self.data, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
