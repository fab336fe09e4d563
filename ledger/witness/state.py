"""A witness's memory: the latest checkpoint it cosigned per log, and the evidence of forks it saw.

One file in the witness's own directory, kept as a journal of JSON lines: each cosigning appends
one short line and fsyncs it (the witness must never forget a checkpoint it cosigned, or it could
be rolled back), instead of rewriting everything it knows per request. When the journal holds
many superseded lines it is compacted: rewritten whole (temporary file, fsync, rename), so a crash
leaves the old file or the new one. A torn last line (a crash mid-append) was never answered, so
it is dropped. What the file can hold is bounded: at most ``max_logs`` logs, ``max_evidence``
fork records (further ones are only counted), and compact notes (see ledger/witness/server.py).
A state file in the older single-JSON-object format is read and rewritten as a journal.
"""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path
from typing import IO, Any

from ledger.errors import ConfigError
from ledger.tlog.checkpoint import Checkpoint
from ledger.tlog.witness_protocol import Known

MAX_LOGS = 1000  # a ledger has one log per partition; far more is someone else's traffic
MAX_EVIDENCE = 100  # forks kept in full; more are counted (one is enough to act on)
HEADER = {"witness_state": 1}


class WitnessState:
    def __init__(
        self, path: Path, max_logs: int = MAX_LOGS, max_evidence: int = MAX_EVIDENCE
    ) -> None:
        self.path = path
        self.max_logs = max_logs
        self.max_evidence = max_evidence
        self.logs: dict[str, dict[str, Any]] = {}
        self.kept: list[dict[str, Any]] = []
        self.dropped = 0  # fork records seen beyond max_evidence
        self.lines = 0  # journal lines on disk, to know when compacting pays
        self._journal: IO[str] | None = None
        if path.exists():
            self._load()

    def _load(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"Cannot read the witness state {self.path}: {exc}") from exc
        if text.startswith("{\n"):  # the older format: one indented JSON object
            try:
                legacy = json.loads(text)
            except ValueError:
                legacy = None
            if isinstance(legacy, dict) and isinstance(legacy.get("logs"), dict):
                self.logs = dict(legacy["logs"])
                self.kept = list(legacy.get("evidence", []))[: self.max_evidence]
                return
        lines = text.split("\n")
        if lines and lines[-1] != "":
            lines.pop()  # torn by a crash mid-append: never fsynced, never answered
        for number, line in enumerate(filter(None, lines), 1):
            try:
                record = json.loads(line)
            except ValueError:
                raise ConfigError(f"{self.path} line {number} is not JSON.") from None
            if number == 1 and record != HEADER:
                raise ConfigError(f"{self.path} is not a witness state file.")
            self._apply(record)
            self.lines = number

    def _apply(self, record: dict[str, Any]) -> None:
        if "log" in record:
            self.logs[record["log"]] = {k: v for k, v in record.items() if k != "log"}
        elif "evidence" in record:
            self.kept.append(record["evidence"])
        elif "dropped" in record:
            self.dropped = int(record["dropped"])

    def latest(self, origin: str) -> Known | None:
        found = self.logs.get(origin)
        if found is None:
            return None
        return Known(int(found["size"]), base64.b64decode(found["root_hash"]))

    def latest_note(self, origin: str) -> str | None:
        found = self.logs.get(origin)
        return None if found is None else str(found["note"])

    def full(self, origin: str) -> bool:
        """True when ``origin`` would be one log more than this witness keeps."""
        return origin not in self.logs and len(self.logs) >= self.max_logs

    def accept(self, origin: str, checkpoint: Checkpoint, cosigned_note: str) -> None:
        if self.full(origin):
            raise ValueError("the caller checks full() first")
        if self.latest(origin) == Known(checkpoint.size, checkpoint.root_hash):
            return  # the same checkpoint again: nothing new to remember, no write, no fsync
        self._append(
            {
                "log": origin,
                "size": checkpoint.size,
                "root_hash": base64.b64encode(checkpoint.root_hash).decode(),
                "note": cosigned_note,
                "at": int(time.time()),
            }
        )

    def record_evidence(self, kind: str, origin: str, reason: str, request_note: str) -> bool:
        """Keeps both sides of a fork: what this witness cosigned, and the signed checkpoint it
        was then sent. False when the same fork is already kept or the cap is reached."""
        if any(e["origin"] == origin and e["request"] == request_note for e in self.kept):
            return False
        if len(self.kept) >= self.max_evidence:
            self._append({"dropped": self.dropped + 1})
            return False
        self._append(
            {
                "evidence": {
                    "kind": kind,
                    "origin": origin,
                    "at": int(time.time()),
                    "reason": reason,
                    "cosigned_note": self.latest_note(origin),
                    "request": request_note,
                }
            }
        )
        return True

    def evidence(self) -> list[dict[str, Any]]:
        return list(self.kept)

    def _append(self, record: dict[str, Any]) -> None:
        self._apply(record)
        if self._journal is None or self.lines > 2 * (len(self.logs) + len(self.kept)) + 64:
            self._compact()  # also the first write: drops a torn line, converts an old file
            return
        self._journal.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._journal.flush()
        os.fsync(self._journal.fileno())
        self.lines += 1

    def _compact(self) -> None:
        records: list[dict[str, Any]] = [HEADER]
        records += [{"log": origin, **found} for origin, found in self.logs.items()]
        records += [{"evidence": e} for e in self.kept]
        if self.dropped:
            records.append({"dropped": self.dropped})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r, separators=(",", ":")) + "\n" for r in records)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a crash
        finally:
            os.close(directory)
        self.close()
        self._journal = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (kept open)
        self.lines = len(records)

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None
