"""The layout of an export bundle, shared by the exporter and the offline verifier."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

FORMAT = "disclosure-ledger-bundle/1"
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
EVENTS = "events.avro"
ALERTS = "alerts.json"
COUNTS = "daily_counts.json"
README = "README.md"
_LOG_ID = re.compile(r"^[A-Za-z0-9._-]+/[0-9]+$")

# One Avro record per exported entry. ``value`` holds the exact Kafka message bytes (absent when
# a protective-order bundle withholds them); ``leaf_hash`` is what the log's tree commits to.
ENTRY_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "BundleEntry",
    "namespace": "gov.disclosureledger.bundle",
    "fields": [
        {"name": "log", "type": "string", "doc": "<topic>/<partition>"},
        {"name": "seq", "type": "long"},
        {"name": "offset", "type": "long", "doc": "Kafka offset of the message"},
        {"name": "leaf_index", "type": "long", "doc": "index in the log's Merkle tree (= seq)"},
        {"name": "event_id", "type": "string"},
        {"name": "event_type", "type": "string"},
        {"name": "leaf_hash", "type": "bytes", "doc": "SHA-256(0x00 || value)"},
        {"name": "value", "type": ["null", "bytes"], "default": None},
        {
            "name": "redacted_record",
            "type": ["null", "string"],
            "default": None,
            "doc": "protective-order: the decoded record as JSON, taxpayer refs re-keyed",
        },
    ],
}


_COMMON = (
    r"manifest\.json",
    r"README\.md",
    r"rules/(default_rules|registry|rules_override|registry_override)\.toml",
    r"logs/[A-Za-z0-9._-]+/[0-9]+/checkpoint",
    r"logs/[A-Za-z0-9._-]+/[0-9]+/consistency-[0-9]+\.json",
)
_ENTRIES = (
    r"events\.avro",
    r"alerts\.json",
    r"schemas/[A-Za-z]+/v[0-9]+\.avsc",
    r"logs/[A-Za-z0-9._-]+/[0-9]+/inclusion\.jsonl",
    r"index/checkpoint",  # the taxpayer index's log (ledger/ops/bundle_index.py)
    r"index/leaves\.jsonl",
)


def allowed(profile: str, rel: str) -> bool:
    """Whether a file of this name belongs in a bundle of this profile (nothing else may ride along)."""
    patterns = _COMMON + ((r"daily_counts\.json",) if profile == "public" else _ENTRIES)
    return any(re.fullmatch(p, rel) for p in patterns)


def log_dir(log_id: str) -> str:
    """``logs/<topic>/<partition>``: the log id is already a safe relative path."""
    if not _LOG_ID.match(log_id):
        raise ValueError(f"log id {log_id!r} is not <topic>/<partition>")
    return f"logs/{log_id}"


def checkpoint_path(log_id: str) -> str:
    return f"{log_dir(log_id)}/checkpoint"


def inclusion_path(log_id: str) -> str:
    return f"{log_dir(log_id)}/inclusion.jsonl"


def consistency_path(log_id: str, old_size: int) -> str:
    return f"{log_dir(log_id)}/consistency-{old_size}.json"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def bundle_files(root: Path) -> list[str]:
    """Every regular file under ``root`` as a relative POSIX path, SHA256SUMS excluded."""
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.relative_to(root).as_posix() != SUMS
    )


def write_sums(root: Path) -> None:
    lines = [f"{sha256_file(root / rel)}  {rel}\n" for rel in bundle_files(root)]
    (root / SUMS).write_text("".join(lines), encoding="utf-8")
