"""`ledger verify-bundle`: an export bundle checked offline, file by file, entry by entry.

Reads only the bundle and the verifier keys (no database, no Kafka) and stops at the first
failure, whose error class carries its exit code (``ledger.tlog.bundle_check``). Before any file
is parsed, every file must be a regular file under its size cap, match SHA256SUMS, and match
SHA256SUMS.note, the same digests signed by the log's key: so everything a verdict rests on
(manifest, alerts, labels) is what the ledger exported. The entries are checked in
``ledger.ops.bundle_entries``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.errors import VerificationError
from ledger.ops import bundle_files as bf
from ledger.ops.bundle_entries import check_entries
from ledger.ops.bundle_index import check_bundle_index
from ledger.safe_files import SMALL_LIMIT, read_json, read_text
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
            f"OK {self.profile} bundle: every file matches SHA256SUMS and the file list the log "
            f"key signed; {self.logs} signed checkpoint(s), {self.entries} entries{held} proven "
            f"in them, {self.consistency} consistency proof(s), {self.alerts} alert(s) with "
            "their evidence."
        )


def _read_json(root: Path, rel: str, error: type[VerificationError]) -> Any:
    try:
        return read_json(root / rel, bf.size_cap(rel) or SMALL_LIMIT, "bundle file")
    except FileNotFoundError as exc:
        raise error(f"{rel} is missing.") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{rel} is not valid JSON: {exc}.") from exc


def _read_small(root: Path, rel: str, error: type[VerificationError]) -> str:
    try:
        return read_text(root / rel, SMALL_LIMIT, "bundle file")
    except FileNotFoundError as exc:
        raise error(f"{rel} is missing.") from exc
    except UnicodeDecodeError as exc:
        raise error(f"{rel} is not UTF-8 text.") from exc


def _check_files(root: Path, verifiers: list[Verifier]) -> str:
    """Files, SHA256SUMS, then the signed list; returns the profile the log key signed."""
    if not root.is_dir() or root.is_symlink():
        raise bc.BundleFilesError(f"{root} is not a directory.")
    present = bf.digests(root)  # refuses symlinks, FIFOs, devices and oversized files first
    bc.check_sums(bc.parse_sums(_read_small(root, bf.SUMS, bc.BundleFilesError)), present)
    note = _read_small(root, bf.SIGNED_SUMS, bc.BundleSignatureError)
    return bc.check_signed_sums(note, verifiers, present, bf.SIGNED_SUMS)


def _inside(root: Path, rel: object, what: str) -> Path:
    path = (root / str(rel)).resolve()
    if not isinstance(rel, str) or root.resolve() not in path.parents or not path.is_file():
        raise bc.BundleManifestError(f"manifest.json: {what} {rel!r} is not a file in the bundle.")
    return path


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
    signed_profile = _check_files(root, verifiers)
    m = _manifest(root)
    profile = str(m["profile"])
    _agree("profile", profile, signed_profile)
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
        note = _read_small(root, rel, bc.BundleCheckpointError)
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
    tally = check_entries(root, profile, logs, checkpoints, bc.evidence_ids(alerts))
    _agree("counts.entries", counts.get("entries"), tally.entries)
    _agree("counts.bytes_withheld", counts.get("bytes_withheld"), tally.withheld)
    _agree("counts.by_type", counts.get("by_type"), tally.by_type)
    _agree("counts.alerts", counts.get("alerts"), len(alerts))
    _agree(
        "entries per log",
        {k: v.get("entries") for k, v in logs.items() if "entries" in v},
        tally.per_log,
    )
    bc.check_alert_evidence(alerts, tally.seen, bf.ALERTS)
    check_bundle_index(root, (m.get("files") or {}).get("taxpayer_index"), verifiers)
    return BundleSummary(
        profile, len(logs), tally.entries, tally.withheld, len(alerts), consistency
    )
