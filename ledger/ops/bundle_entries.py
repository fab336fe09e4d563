"""The entries of an export bundle, checked one by one against their labels, schemas and proofs.

Entries and their proofs are streamed side by side, so memory does not grow with the bundle;
only the alerts' evidence ids are held. Each entry's labels are compared with what can be
proven: ``event_type`` with the schema its bytes were written with, ``event_id`` with the id its
record holds, ``log`` and ``seq`` with the inclusion proof against that log's checkpoint.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import fastavro

from ledger.codec import HEADER_LEN, MAGIC
from ledger.errors import VerificationError
from ledger.ops import bundle_files as bf
from ledger.safe_files import InputRefusedError, MiB, loads_json, open_regular
from ledger.schema_registry import SchemaVersion, load_version
from ledger.tlog import bundle_check as bc
from ledger.tlog.checkpoint import Checkpoint

_PROOF_LINE_LIMIT = 1 * MiB  # a proof line holds ~64 hashes of 44 characters
_ENTRY_SCHEMA = fastavro.parse_schema(bf.ENTRY_SCHEMA)


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


def _decode(
    value: bytes, event_type: str, schemas: dict[bytes, SchemaVersion], where: str
) -> dict[str, Any]:
    """The record the bytes hold, written with a shipped schema of ``event_type``."""
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
        record = fastavro.schemaless_reader(body, version.parsed, None)
    except Exception as exc:  # truncated or garbled bodies raise several kinds
        raise bc.BundleSchemaError(
            f"{where}: the bytes do not decode with {version.path.name}."
        ) from exc
    if body.tell() != len(value) - HEADER_LEN:
        raise bc.BundleSchemaError(f"{where}: bytes left over after decoding.")
    if not isinstance(record, dict):
        raise bc.BundleSchemaError(f"{where}: the bytes do not hold a record.")
    return record


def _redacted(text: str, where: str) -> dict[str, Any] | None:
    try:
        record = loads_json(text, f"{where} redacted_record")
    except ValueError as exc:
        raise bc.BundleEntryError(f"{where}: its redacted_record is not JSON.") from exc
    return record if isinstance(record, dict) else None


class _Proofs:
    """Each log's inclusion.jsonl, read line by line as that log's entries arrive."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.current: str | None = None
        self.file: IO[bytes] | None = None
        self.done: set[str] = set()

    def _line(self, log_id: str) -> str:
        assert self.file is not None
        raw = self.file.readline(_PROOF_LINE_LIMIT + 1)
        if len(raw) > _PROOF_LINE_LIMIT:
            raise bc.BundleProofError(f"{bf.inclusion_path(log_id)}: a line is over 1 MiB.")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise bc.BundleProofError(f"{bf.inclusion_path(log_id)} is not UTF-8 text.") from exc

    def next_for(self, log_id: str, where: str) -> dict[str, Any]:
        if log_id != self.current:
            self.finish()
            if log_id in self.done:
                raise bc.BundleEntryError(f"{where}: entries of {log_id} are not contiguous.")
            rel = bf.inclusion_path(log_id)
            try:
                self.file = open_regular(self.root / rel, "bundle file")
            except FileNotFoundError as exc:
                raise bc.BundleProofError(f"{rel} is missing.") from exc
            self.current = log_id
        line = self._line(log_id)
        if not line:
            raise bc.BundleProofError(f"{bf.inclusion_path(log_id)} has no proof for {where}.")
        try:
            proof = loads_json(line, f"{bf.inclusion_path(log_id)} ({where})")
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
                extra = self._line(self.current)
            except bc.BundleProofError:
                extra = "undecodable"
            self.file.close()
            self.file = None
            self.done.add(self.current)
            if extra:
                raise bc.BundleProofError(
                    f"{bf.inclusion_path(self.current)} has more proofs than the log has entries."
                )


def read_entries(root: Path) -> Iterator[dict[str, Any]]:
    try:
        with open_regular(root / bf.EVENTS, "bundle file") as f:
            reader = fastavro.reader(f, reader_schema=_ENTRY_SCHEMA)
            # The exporter writes no compression: a compressed block could inflate without bound.
            if reader.codec != "null":
                raise InputRefusedError(
                    f"{bf.EVENTS} is compressed ({reader.codec}): a compressed block could "
                    "inflate without bound, so bundles hold uncompressed entries only."
                )
            for record in reader:
                if not isinstance(record, dict):
                    raise bc.BundleEntryError(f"{bf.EVENTS} holds something other than entries.")
                yield record
    except FileNotFoundError as exc:
        raise bc.BundleEntryError(f"{bf.EVENTS} is missing.") from exc
    except (VerificationError, InputRefusedError):
        raise
    except Exception as exc:  # fastavro raises many kinds on a damaged container
        raise bc.BundleEntryError(f"{bf.EVENTS} is not a readable Avro file: {exc}.") from exc


@dataclass
class EntryTally:
    entries: int = 0
    withheld: int = 0
    per_log: dict[str, int] = field(default_factory=dict)
    by_type: dict[str, int] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)  # the alerts' evidence ids found among entries


def check_entries(
    root: Path,
    profile: str,
    logs: dict[str, dict[str, Any]],
    checkpoints: dict[str, Checkpoint],
    evidence: set[str],
) -> EntryTally:
    schemas = _schemas(root)
    proofs = _Proofs(root)
    tally = EntryTally()
    last: tuple[str, int] | None = None
    for n, e in enumerate(read_entries(root)):
        log_id, seq, event_id = str(e["log"]), int(e["seq"]), str(e["event_id"])
        event_type = str(e["event_type"])
        where = f"{bf.EVENTS} entry {n} ({log_id} seq {seq}, event {event_id})"
        if log_id not in checkpoints:
            raise bc.BundleEntryError(f"{where}: its log has no checkpoint in the bundle.")
        if last is not None and (log_id, seq) <= last:
            raise bc.BundleEntryError(f"{where}: entries are not in (log, seq) order.")
        if int(e["leaf_index"]) != seq:
            raise bc.BundleEntryError(f"{where}: leaf_index {e['leaf_index']} is not its seq.")
        value = None if e["value"] is None else bytes(e["value"])
        redacted = e["redacted_record"]
        bc.check_entry_profile(profile, value, redacted, where)
        leaf = bytes(e["leaf_hash"])
        bc.check_entry_leaf(value, leaf, where)
        record: dict[str, Any] | None
        if value is not None:
            record = _decode(value, event_type, schemas, where)
        else:
            record = _redacted(str(redacted), where)
        bc.check_entry_label(event_id, record, where)
        proof = proofs.next_for(log_id, where)
        if proof.get("event_id") != event_id:
            raise bc.BundleProofError(
                f"{where}: its proof line is for event {proof.get('event_id')}."
            )
        bc.check_inclusion(
            proof, leaf, seq, checkpoints[log_id], f"{bf.inclusion_path(log_id)} for {where}"
        )
        last = (log_id, seq)
        tally.entries += 1
        tally.withheld += value is None
        tally.per_log[log_id] = tally.per_log.get(log_id, 0) + 1
        tally.by_type[event_type] = tally.by_type.get(event_type, 0) + 1
        if event_id in evidence:
            tally.seen.add(event_id)
    proofs.finish()
    for log_id in logs:
        if log_id not in proofs.done and (root / bf.inclusion_path(log_id)).exists():
            raise bc.BundleProofError(
                f"{bf.inclusion_path(log_id)} proves entries the bundle lacks."
            )
    return tally
