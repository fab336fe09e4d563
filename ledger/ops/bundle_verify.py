"""`ledger verify-bundle`: an export bundle checked offline, file by file, entry by entry.

Reads only the bundle and the verifier keys (no database, no Kafka) and stops at the first
failure, whose error class carries its exit code (``ledger.tlog.bundle_check``). Entries and
their proofs are streamed side by side, so memory does not grow with the bundle; only the alerts'
evidence ids are held.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import fastavro

from ledger.codec import HEADER_LEN, MAGIC
from ledger.errors import VerificationError
from ledger.ops import bundle_files as bf
from ledger.ops.bundle_index import check_bundle_index
from ledger.schema_registry import SchemaVersion, load_version
from ledger.tlog import bundle_check as bc
from ledger.tlog.checkpoint import Checkpoint
from ledger.tlog.note import Verifier


@dataclass(frozen=True)
class BundleSummary:
    profile: str
    logs: int
    entries: int
    withheld: int
    alerts: int
    consistency: int

    def line(self) -> str:
        held = f" ({self.withheld} by leaf hash only)" if self.withheld else ""
        return (
            f"OK {self.profile} bundle: every file matches SHA256SUMS; {self.logs} signed "
            f"checkpoint(s), {self.entries} entries{held} proven in them, "
            f"{self.consistency} consistency proof(s), {self.alerts} alert(s) with their evidence."
        )


def _read_json(root: Path, rel: str, error: type[VerificationError]) -> Any:
    try:
        return json.loads((root / rel).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise error(f"{rel} is missing.") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{rel} is not valid JSON: {exc}.") from exc


def _check_files(root: Path) -> None:
    if not root.is_dir():
        raise bc.BundleFilesError(f"{root} is not a directory.")
    try:
        text = (root / bf.SUMS).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise bc.BundleFilesError(f"{bf.SUMS} is missing.") from exc
    except UnicodeDecodeError as exc:
        raise bc.BundleFilesError(f"{bf.SUMS} is not text.") from exc
    listed = bc.parse_sums(text)
    present = {rel: bf.sha256_file(root / rel) for rel in bf.bundle_files(root)}
    bc.check_sums(listed, present)


def _inside(root: Path, rel: object, what: str) -> Path:
    path = (root / str(rel)).resolve()
    if not isinstance(rel, str) or root.resolve() not in path.parents or not path.is_file():
        raise bc.BundleManifestError(f"manifest.json: {what} {rel!r} is not a file in the bundle.")
    return path


def _schemas(root: Path) -> dict[bytes, SchemaVersion]:
    found: dict[bytes, SchemaVersion] = {}
    for path in sorted((root / "schemas").glob("*/v*.avsc")):
        rel = path.relative_to(root).as_posix()
        try:
            version = load_version(path, path.parent.name, int(path.stem[1:]))
        except Exception as exc:  # fastavro raises several kinds on a broken schema
            raise bc.BundleSchemaError(f"{rel} is not a valid Avro schema: {exc}.") from exc
        if str(version.parsed.get("name")).rsplit(".", 1)[-1] != path.parent.name:
            raise bc.BundleSchemaError(f"{rel} names record {version.parsed.get('name')!r}.")
        found[version.fingerprint] = version
    return found


def _check_schema(
    value: bytes, event_type: str, schemas: dict[bytes, SchemaVersion], where: str
) -> None:
    if value[:2] != MAGIC or len(value) < HEADER_LEN:
        raise bc.BundleSchemaError(f"{where}: the bytes are not Avro single-object encoded.")
    version = schemas.get(value[2:HEADER_LEN])
    if version is None:
        raise bc.BundleSchemaError(
            f"{where}: written with schema fingerprint {value[2:HEADER_LEN].hex()}, which no "
            ".avsc in schemas/ has."
        )
    if version.event_type != event_type:
        raise bc.BundleSchemaError(
            f"{where}: the bytes are a {version.event_type}, not {event_type}."
        )
    body = io.BytesIO(value[HEADER_LEN:])
    try:
        fastavro.schemaless_reader(body, version.parsed, None)
    except Exception as exc:  # truncated or garbled bodies raise several kinds
        raise bc.BundleSchemaError(
            f"{where}: the bytes do not decode with {version.path.name}."
        ) from exc
    if body.tell() != len(value) - HEADER_LEN:
        raise bc.BundleSchemaError(f"{where}: bytes left over after decoding.")


class _Proofs:
    """Each log's inclusion.jsonl, read line by line as that log's entries arrive."""

    def __init__(self, root: Path, logs: dict[str, dict[str, Any]]) -> None:
        self.root, self.logs = root, logs
        self.current: str | None = None
        self.file: IO[str] | None = None
        self.done: set[str] = set()

    def next_for(self, log_id: str, where: str) -> dict[str, Any]:
        if log_id != self.current:
            self.finish()
            if log_id in self.done:
                raise bc.BundleEntryError(f"{where}: entries of {log_id} are not contiguous.")
            rel = bf.inclusion_path(log_id)
            try:
                self.file = (self.root / rel).open(encoding="utf-8")
            except FileNotFoundError as exc:
                raise bc.BundleProofError(f"{rel} is missing.") from exc
            self.current = log_id
        assert self.file is not None
        try:
            line = self.file.readline()
        except UnicodeDecodeError as exc:
            raise bc.BundleProofError(f"{bf.inclusion_path(log_id)} is not UTF-8 text.") from exc
        if not line:
            raise bc.BundleProofError(f"{bf.inclusion_path(log_id)} has no proof for {where}.")
        try:
            proof = json.loads(line)
        except json.JSONDecodeError as exc:
            raise bc.BundleProofError(
                f"{bf.inclusion_path(log_id)}: a line is not JSON ({where})."
            ) from exc
        if not isinstance(proof, dict):
            raise bc.BundleProofError(f"{bf.inclusion_path(log_id)}: a line is not an object.")
        return proof

    def finish(self) -> None:
        if self.file is not None and self.current is not None:
            try:
                extra = self.file.readline()
            except UnicodeDecodeError:
                extra = "undecodable"
            self.file.close()
            self.file = None
            self.done.add(self.current)
            if extra:
                raise bc.BundleProofError(
                    f"{bf.inclusion_path(self.current)} has more proofs than the log has entries."
                )


_ENTRY_SCHEMA = fastavro.parse_schema(bf.ENTRY_SCHEMA)


def _entries(root: Path) -> Iterator[dict[str, Any]]:
    try:
        with (root / bf.EVENTS).open("rb") as f:
            for record in fastavro.reader(f, reader_schema=_ENTRY_SCHEMA):
                if not isinstance(record, dict):
                    raise bc.BundleEntryError(f"{bf.EVENTS} holds something other than entries.")
                yield record
    except FileNotFoundError as exc:
        raise bc.BundleEntryError(f"{bf.EVENTS} is missing.") from exc
    except VerificationError:
        raise
    except Exception as exc:  # fastavro raises many kinds on a damaged container
        raise bc.BundleEntryError(f"{bf.EVENTS} is not a readable Avro file: {exc}.") from exc


@dataclass
class _Tally:
    entries: int = 0
    withheld: int = 0


def _check_entries(
    root: Path,
    profile: str,
    logs: dict[str, dict[str, Any]],
    checkpoints: dict[str, Checkpoint],
    evidence: set[str],
) -> tuple[_Tally, dict[str, int], dict[str, int], set[str]]:
    schemas = _schemas(root)
    proofs = _Proofs(root, logs)
    tally, per_log, by_type, seen = _Tally(), {}, {}, set()  # type: ignore[var-annotated]
    last: tuple[str, int] | None = None
    for n, e in enumerate(_entries(root)):
        log_id, seq = str(e["log"]), int(e["seq"])
        where = f"{bf.EVENTS} entry {n} ({log_id} seq {seq}, event {e['event_id']})"
        if log_id not in checkpoints:
            raise bc.BundleEntryError(f"{where}: its log has no checkpoint in the bundle.")
        if last is not None and (log_id, seq) <= last:
            raise bc.BundleEntryError(f"{where}: entries are not in (log, seq) order.")
        if int(e["leaf_index"]) != seq:
            raise bc.BundleEntryError(f"{where}: leaf_index {e['leaf_index']} is not its seq.")
        value = None if e["value"] is None else bytes(e["value"])
        bc.check_entry_profile(profile, value, e["redacted_record"], where)
        leaf = bytes(e["leaf_hash"])
        bc.check_entry_leaf(value, leaf, where)
        if value is not None:
            _check_schema(value, str(e["event_type"]), schemas, where)
        proof = proofs.next_for(log_id, where)
        if proof.get("event_id") != e["event_id"]:
            raise bc.BundleProofError(
                f"{where}: its proof line is for event {proof.get('event_id')}."
            )
        bc.check_inclusion(
            proof, leaf, seq, checkpoints[log_id], f"{bf.inclusion_path(log_id)} for {where}"
        )
        last = (log_id, seq)
        tally.entries += 1
        tally.withheld += value is None
        per_log[log_id] = per_log.get(log_id, 0) + 1
        by_type[str(e["event_type"])] = by_type.get(str(e["event_type"]), 0) + 1
        if e["event_id"] in evidence:
            seen.add(str(e["event_id"]))
    proofs.finish()
    for log_id in logs:
        if log_id not in proofs.done and (root / bf.inclusion_path(log_id)).exists():
            raise bc.BundleProofError(
                f"{bf.inclusion_path(log_id)} proves entries the bundle lacks."
            )
    return tally, per_log, by_type, seen


def _manifest(root: Path) -> dict[str, Any]:
    m = _read_json(root, bf.MANIFEST, bc.BundleManifestError)
    if not isinstance(m, dict) or m.get("format") != bf.FORMAT:
        raise bc.BundleManifestError(f"manifest.json is not a {bf.FORMAT} manifest.")
    if m.get("profile") not in bc.PROFILES:
        raise bc.BundleManifestError(f"manifest.json: unknown profile {m.get('profile')!r}.")
    bc.check_manifest_shape(m)
    return m


def _agree(what: str, stated: object, found: object) -> None:
    if stated != found:
        raise bc.BundleManifestError(
            f"manifest.json: {what} is {stated!r} but the bundle has {found!r}."
        )


def verify_bundle(
    root: Path, vkeys: list[str], cosignatures: bc.CosignatureCheck = bc.no_cosignatures
) -> BundleSummary:
    """Every check, in order: files, manifest, checkpoints, consistency, profile, entries, alerts.

    ``cosignatures`` is called with each checkpoint note: the witness checks plug in there.
    """
    verifiers = [Verifier.from_vkey(k) for k in vkeys]
    _check_files(root)
    m = _manifest(root)
    profile = str(m["profile"])
    for rel in bf.bundle_files(root):
        if not bf.allowed(profile, rel):
            raise bc.BundleProfileError(f"{rel} has no place in a {profile} bundle.")
    for r in m["rules"]:
        _agree(
            f"the SHA-256 of {r.get('file')}",
            r.get("sha256"),
            bf.sha256_file(_inside(root, r.get("file"), "rules file")),
        )
    logs: dict[str, dict[str, Any]] = {}
    checkpoints: dict[str, Checkpoint] = {}
    consistency = 0
    for entry in m["logs"]:
        log_id = str(entry.get("log"))
        try:
            rel = bf.checkpoint_path(log_id)
        except ValueError as exc:
            raise bc.BundleManifestError(f"manifest.json: {exc}.") from exc
        _inside(root, rel, "checkpoint")
        try:
            note = (root / rel).read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError as exc:
            raise bc.BundleManifestError(
                f"manifest.json names a log whose {rel} is missing."
            ) from exc
        cp = bc.check_checkpoint(note, verifiers, rel, cosignatures)
        _agree(f"{log_id} tree_size", entry.get("tree_size"), cp.size)
        _agree(f"{log_id} origin", entry.get("origin"), cp.origin)
        logs[log_id], checkpoints[log_id] = entry, cp
        for crel in entry.get("consistency") or []:
            _inside(root, crel, "consistency proof")
            proof = _read_json(root, crel, bc.BundleProofError)
            bc.check_consistency(proof, verifiers, cp, crel, cosignatures)
            consistency += 1
    on_disk = {
        p.parent.relative_to(root / "logs").as_posix() for p in root.glob("logs/*/*/checkpoint")
    }
    _agree("the set of logs", sorted(logs), sorted(on_disk))
    counts = m["counts"]
    if profile == "public":
        for forbidden in (bf.EVENTS, bf.ALERTS):
            if (root / forbidden).exists():
                raise bc.BundleProfileError(
                    f"{forbidden}: a public bundle holds no entries or alerts."
                )
        if any(root.glob("logs/*/*/inclusion.jsonl")):
            raise bc.BundleProfileError("a public bundle holds no inclusion proofs.")
        data = _read_json(root, bf.COUNTS, bc.BundleProfileError)
        threshold = m.get("public_threshold")
        if (
            not isinstance(threshold, int)
            or not isinstance(data, dict)
            or data.get("threshold") != threshold
        ):
            raise bc.BundleManifestError(
                "manifest.json: public_threshold differs from daily_counts.json."
            )
        rows = data.get("rows")
        if not isinstance(rows, list):
            raise bc.BundleProfileError(f"{bf.COUNTS} has no list of rows.")
        bc.check_public_counts(rows, threshold, bf.COUNTS)
        return BundleSummary(profile, len(logs), 0, 0, 0, consistency)
    alerts = _read_json(root, bf.ALERTS, bc.BundleAlertsError)
    if not isinstance(alerts, list) or not all(isinstance(a, dict) for a in alerts):
        raise bc.BundleAlertsError(f"{bf.ALERTS} is not a list of alerts.")
    tally, per_log, by_type, seen = _check_entries(
        root, profile, logs, checkpoints, bc.evidence_ids(alerts)
    )
    _agree("counts.entries", counts.get("entries"), tally.entries)
    _agree("counts.bytes_withheld", counts.get("bytes_withheld"), tally.withheld)
    _agree("counts.by_type", counts.get("by_type"), by_type)
    _agree("counts.alerts", counts.get("alerts"), len(alerts))
    _agree(
        "entries per log", {k: v.get("entries") for k, v in logs.items() if "entries" in v}, per_log
    )
    bc.check_alert_evidence(alerts, seen, bf.ALERTS)
    check_bundle_index(root, (m.get("files") or {}).get("taxpayer_index"), verifiers)
    return BundleSummary(
        profile, len(logs), tally.entries, tally.withheld, len(alerts), consistency
    )
