"""`ledger export`: a bundle a court's expert can check offline (docs/expert.md, "Verify an export bundle").

Entries stream from a server-side cursor into the Avro file; each batch's inclusion proofs are
computed from the stored tree nodes that batch needs (one query per batch), so memory is bounded
by the batch size times the tree depth, not by the export.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import IO, Any

import fastavro

import ledger
from ledger.config import Settings
from ledger.errors import VerificationError
from ledger.keys import load_signers, signing_key_path
from ledger.ops import bundle_files as bf
from ledger.ops.bundle_index import write_index_log
from ledger.ops.bundle_readme import bundle_readme
from ledger.ops.export_redact import Rekeyer
from ledger.ops.export_select import ExportRefusedError, resolve_selection
from ledger.safe_files import read_bytes
from ledger.schema_registry import default_registry
from ledger.store import Connection
from ledger.store.checkpoints import StoredCheckpoint, latest_per_log
from ledger.store.entries import fetch_nodes
from ledger.store.export import (
    ExportRow,
    Selection,
    alerts_by_id,
    daily_counts,
    iter_selected,
    selected_alerts,
    snapshot,
)
from ledger.tlog import merkle
from ledger.tlog.bundle_check import HEX64, PROFILES
from ledger.tlog.checkpoint import Checkpoint


@dataclass(frozen=True)
class ExportRequest:
    out: Path
    profile: str = "auditor"
    since: date | None = None
    until: date | None = None
    recipient: str | None = None
    authority: str | None = None
    order: str | None = None
    since_checkpoints: tuple[tuple[str, str], ...] = ()  # (file name, note text)
    public_min_count: int = 10

    def filters(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "recipient": self.recipient,
            "authority": self.authority,
            "order": self.order,
            "since_checkpoints": [name for name, _ in self.since_checkpoints],
        }


@dataclass
class ExportResult:
    out: Path
    profile: str
    entries: int = 0
    withheld: int = 0
    uncovered: int = 0
    alerts: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    per_log: dict[str, int] = field(default_factory=dict)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _body(note: str) -> str:
    return note[: note.rfind("\n\n") + 1]


def _check_out(out: Path) -> bool:
    """Refuses a directory in use; returns whether ``out`` exists already (empty)."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportRefusedError(f"--out {out} exists and is not an empty directory.")
    return out.exists()


def _discard(out: Path, existed: bool) -> None:
    """A failed export leaves no half bundle behind (it began with an empty directory)."""
    if not existed:
        shutil.rmtree(out, ignore_errors=True)
        return
    for child in out.iterdir():
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


class _EntryWriter:
    """Turns batches of rows into Avro records, writing each log's inclusion proofs alongside."""

    def __init__(
        self,
        conn: Connection,
        out: Path,
        profile: str,
        checkpoints: dict[str, Checkpoint],
        result: ExportResult,
        progress: Callable[[int], None],
    ) -> None:
        self.conn, self.out, self.profile = conn, out, profile
        self.checkpoints, self.result, self.progress = checkpoints, result, progress
        self.rekeyer = Rekeyer()
        self.uncovered: set[str] = set()  # the tail past a log's latest checkpoint: few
        self._log: str | None = None
        self._proofs: IO[str] | None = None

    def _switch(self, log_id: str) -> None:
        if self._proofs is not None:
            self._proofs.close()
        path = self.out / bf.inclusion_path(log_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._log, self._proofs = log_id, path.open("w", encoding="utf-8")

    def close(self) -> None:
        if self._proofs is not None:
            self._proofs.close()

    def records(self, batches: Iterator[list[ExportRow]]) -> Iterator[dict[str, Any]]:
        for batch in batches:
            yield from self._batch(batch)
            self.progress(len(batch))

    def _batch(self, batch: list[ExportRow]) -> Iterator[dict[str, Any]]:
        by_log: dict[str, list[ExportRow]] = {}
        for row in batch:
            cp = self.checkpoints.get(row.log_id)
            if cp is None or row.seq >= cp.size:  # not signed yet: nothing to prove it against
                self.result.uncovered += 1
                self.uncovered.add(row.event_id)
                continue
            by_log.setdefault(row.log_id, []).append(row)
        for log_id, rows in by_log.items():
            size = self.checkpoints[log_id].size
            plan = {c for r in rows for c in merkle.inclusion_plan(r.seq, size)}
            nodes = fetch_nodes(self.conn, log_id, plan)
            if log_id != self._log:
                self._switch(log_id)
            assert self._proofs is not None
            for r in rows:
                hashes = merkle.inclusion_proof_from_nodes(r.seq, size, nodes)
                line = {
                    "event_id": r.event_id,
                    "leaf_index": r.seq,
                    "leaf_hash": _b64(r.leaf_hash),
                    "hashes": [_b64(h) for h in hashes],
                }
                self._proofs.write(json.dumps(line, separators=(",", ":")) + "\n")
                yield self._record(r)

    def _record(self, r: ExportRow) -> dict[str, Any]:
        value: bytes | None = r.value
        redacted = None
        if self.profile == "protective-order" and HEX64.search(r.value):
            value = None
            redacted = json.dumps(self.rekeyer.record(json.loads(r.body)), sort_keys=True)
            self.result.withheld += 1
        res = self.result
        res.entries += 1
        res.by_type[r.event_type] = res.by_type.get(r.event_type, 0) + 1
        res.per_log[r.log_id] = res.per_log.get(r.log_id, 0) + 1
        return {
            "log": r.log_id,
            "seq": r.seq,
            "offset": r.kafka_offset,
            "leaf_index": r.seq,
            "event_id": r.event_id,
            "event_type": r.event_type,
            "leaf_hash": r.leaf_hash,
            "value": value,
            "redacted_record": redacted,
        }


def _consistency(
    conn: Connection, log_id: str, name: str, old_note: str, new: StoredCheckpoint
) -> dict[str, Any]:
    old = Checkpoint.parse(_body(old_note))
    cur = Checkpoint.parse(_body(new.note))
    if old.size > cur.size:
        raise ExportRefusedError(
            f"{name} signs {old.size} entries of {log_id}, more than the latest checkpoint's {cur.size}."
        )
    nodes = fetch_nodes(conn, log_id, merkle.consistency_plan(old.size, cur.size))
    hashes = merkle.consistency_proof_from_nodes(old.size, cur.size, nodes)
    try:
        merkle.verify_consistency(old.size, cur.size, old.root_hash, cur.root_hash, hashes)
    except merkle.ProofError as exc:
        raise VerificationError(
            f"{name} is not consistent with {log_id} as stored: {exc}. The log differs from the "
            "one that checkpoint signed."
        ) from exc
    return {
        "log": log_id,
        "old_size": old.size,
        "new_size": cur.size,
        "old_checkpoint": old_note,
        "new_checkpoint": new.note,
        "hashes": [_b64(h) for h in hashes],
    }


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2, default=str) + "\n", encoding="utf-8")


def _write_rules(out: Path, settings: Settings) -> list[dict[str, str]]:
    """The rules in force as they are: the shipped defaults and registry, and the
    LEDGER_RULES_FILE and LEDGER_REGISTRY_FILE overrides when set."""
    (out / "rules").mkdir()
    shipped = resources.files("ledger.rules")
    files = []
    for name in ("default_rules.toml", "registry.toml"):
        (out / "rules" / name).write_bytes(shipped.joinpath(name).read_bytes())
        files.append(f"rules/{name}")
    for name, path in (
        ("rules_override.toml", settings.rules_file),
        ("registry_override.toml", settings.registry_file),
    ):
        if path is not None:
            (out / "rules" / name).write_bytes(read_bytes(path, what="rules file"))
            files.append(f"rules/{name}")
    return [{"file": f, "sha256": bf.sha256_file(out / f)} for f in files]


def _write_schemas(out: Path, types: list[str]) -> list[str]:
    written = []
    for event_type in types:
        for version in default_registry().history(event_type):
            rel = f"schemas/{event_type}/v{version.version}.avsc"
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(version.path, out / rel)
            written.append(rel)
    return written


def _suppressed(rows: list[dict[str, Any]], threshold: int) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        cell = {"day": r["day"].isoformat(), "recipient": r["recipient"]}
        cell["authority"] = r["authority"]
        for key in ("disclosures", "records"):
            n = int(r[key])
            cell[key] = n if n >= threshold else None  # small cells suppressed, not rounded
        out.append(cell)
    return out


def export_bundle(
    conn: Connection,
    settings: Settings,
    request: ExportRequest,
    progress: Callable[[int], None] = lambda n: None,
) -> ExportResult:
    """Writes the bundle ``request`` asks for; on any failure nothing is left in ``request.out``."""
    if request.profile not in PROFILES:
        raise ExportRefusedError(f"--profile must be one of {', '.join(PROFILES)}.")
    # The log's key signs the bundle's file list: loaded first, so a missing key writes nothing.
    signers = load_signers(signing_key_path(settings))
    existed = _check_out(request.out)
    try:
        result = _write_bundle(conn, settings, request, progress)
        bf.sign_bundle(request.out, request.profile, signers)
        return result
    except BaseException:
        _discard(request.out, existed)
        raise


def _write_bundle(
    conn: Connection,
    settings: Settings,
    request: ExportRequest,
    progress: Callable[[int], None],
) -> ExportResult:
    out, result = request.out, ExportResult(request.out, request.profile)
    with snapshot(conn):
        selection: Selection = resolve_selection(conn, settings, request)
        out.mkdir(parents=True, exist_ok=True)
        stored = {c.log_id: c for c in latest_per_log(conn)}
        checkpoints = {log_id: Checkpoint.parse(_body(c.note)) for log_id, c in stored.items()}
        logs: dict[str, dict[str, Any]] = {}
        for log_id, c in stored.items():
            (out / bf.log_dir(log_id)).mkdir(parents=True)
            (out / bf.checkpoint_path(log_id)).write_text(c.note, encoding="utf-8")
            cp = checkpoints[log_id]
            logs[log_id] = {"log": log_id, "origin": cp.origin, "tree_size": cp.size}
            logs[log_id].update({"checkpoint": bf.checkpoint_path(log_id), "consistency": []})
        by_origin = {cp.origin: log_id for log_id, cp in checkpoints.items()}
        for name, note in request.since_checkpoints:
            origin = note.split("\n", 1)[0]
            if origin not in by_origin:
                raise ExportRefusedError(
                    f"{name} is a checkpoint of {origin!r}, not of this ledger."
                )
            log_id = by_origin[origin]
            proof = _consistency(conn, log_id, name, note, stored[log_id])
            rel = bf.consistency_path(log_id, proof["old_size"])
            _write_json(out / rel, proof)
            logs[log_id]["consistency"].append(rel)
        files: dict[str, Any] = {}
        if request.profile == "public":
            rows = _suppressed(daily_counts(conn, selection), request.public_min_count)
            _write_json(out / bf.COUNTS, {"threshold": request.public_min_count, "rows": rows})
            files["daily_counts"] = bf.COUNTS
        else:
            writer = _EntryWriter(conn, out, request.profile, checkpoints, result, progress)
            try:
                with (out / bf.EVENTS).open("wb") as f:
                    records = writer.records(iter_selected(conn, selection))
                    fastavro.writer(f, fastavro.parse_schema(bf.ENTRY_SCHEMA), records)
            finally:
                writer.close()
            # An alert citing an entry no checkpoint covers yet would cite what the bundle lacks.
            alerts = [
                a
                for a in selected_alerts(conn, selection)
                if writer.uncovered.isdisjoint(a["evidence"])
            ]
            # Alerts that other alerts cite (finding_contested names the alert it contests).
            have = {a["alert_id"] for a in alerts}
            cited = {e for a in alerts for e in a["evidence"]} - have
            alerts += [a for a in alerts_by_id(conn, cited) if a["alert_id"] not in have]
            if request.profile == "protective-order":
                alerts = [writer.rekeyer.record(a) for a in alerts]
            result.alerts = len(alerts)
            _write_json(out / bf.ALERTS, alerts)
            files.update(events=bf.EVENTS, alerts=bf.ALERTS)
            files["schemas"] = _write_schemas(out, sorted(result.by_type))
            files["taxpayer_index"] = write_index_log(conn, out, settings) or None
    for log_id, n in result.per_log.items():
        logs[log_id]["entries"] = n
        logs[log_id]["inclusion"] = bf.inclusion_path(log_id)
    manifest: dict[str, Any] = {
        "format": bf.FORMAT,
        "profile": request.profile,
        "filters": request.filters(),
        "timezone": settings.timezone.key,
        "day_rule": "disclosures: the transmitted day in the time zone; other entries: the day of occurred_at",
        "created_at": datetime.now(UTC).isoformat(),
        "tool": {"name": "disclosure-ledger", "version": ledger.__version__},
        "counts": {
            "entries": result.entries,
            "bytes_withheld": result.withheld,
            "not_yet_checkpointed": result.uncovered,
            "alerts": result.alerts,
            "by_type": result.by_type,
        },
        "logs": [logs[k] for k in sorted(logs)],
        "rules": _write_rules(out, settings),
        "files": files,
    }
    if request.profile == "public":
        manifest["public_threshold"] = request.public_min_count
    _write_json(out / bf.MANIFEST, manifest)
    (out / bf.README).write_text(bundle_readme(request.profile), encoding="utf-8")
    return result
