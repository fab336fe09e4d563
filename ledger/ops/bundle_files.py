"""The layout of an export bundle, shared by the exporter and the offline verifier."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ledger.safe_files import SMALL_LIMIT, InputRefusedError, MiB, open_regular
from ledger.tlog.bundle_check import SIGNED_SUMS_HEADER
from ledger.tlog.note import Signer, sign_note

FORMAT = "disclosure-ledger-bundle/1"
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
SIGNED_SUMS = "SHA256SUMS.note"  # the same digests (and the profile) as a note the log key signs
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


# The caps a verifier holds each file to. Entries and proofs are streamed, so their files may be
# as large as the export; everything read whole is capped (alerts and counts generously).
BIG_LIMIT = 256 * MiB
_STREAMED = (re.compile(r"events\.avro"), re.compile(r"logs/.+/inclusion\.jsonl"))
_BIG = frozenset({ALERTS, COUNTS})


def size_cap(rel: str) -> int | None:
    """The most bytes ``rel`` may hold in a bundle (None: streamed, no cap)."""
    if any(p.fullmatch(rel) for p in _STREAMED):
        return None
    return BIG_LIMIT if rel in _BIG else SMALL_LIMIT


def sha256_file(path: Path, limit: int | None = None) -> str:
    """SHA-256 of a regular file (never a symlink, FIFO or device), refused past ``limit``."""
    digest, seen = hashlib.sha256(), 0
    with open_regular(path, "bundle file") as f:
        while chunk := f.read(1 << 20):
            seen += len(chunk)
            if limit is not None and seen > limit:
                raise InputRefusedError(f"bundle file {path} is over {limit // MiB} MiB.")
            digest.update(chunk)
    return digest.hexdigest()


def bundle_files(root: Path) -> list[str]:
    """Every file under ``root`` as a relative POSIX path, SHA256SUMS and its note excluded.

    Anything but a directory or a regular file (a symlink, FIFO, socket, device) is refused
    before any file is read: it could lead outside the bundle, block, or never end.
    """
    found: list[str] = []
    for top, dirs, files in os.walk(root, followlinks=False):
        for name in sorted(dirs) + sorted(files):
            path = Path(top) / name
            mode = os.lstat(path).st_mode
            if stat.S_ISDIR(mode):
                continue
            rel = path.relative_to(root).as_posix()
            if not stat.S_ISREG(mode):
                raise InputRefusedError(
                    f"bundle file {rel} is not a regular file (a symlink, FIFO or device); "
                    "a bundle holds regular files only."
                )
            if rel not in (SUMS, SIGNED_SUMS):
                found.append(rel)
    return sorted(found)


def digests(root: Path) -> dict[str, str]:
    """rel -> SHA-256 of every file of the bundle (each held to its size cap)."""
    return {rel: sha256_file(root / rel, size_cap(rel)) for rel in bundle_files(root)}


def sums_text(listed: dict[str, str]) -> str:
    return "".join(f"{listed[rel]}  {rel}\n" for rel in sorted(listed))


def write_sums(root: Path) -> None:
    """SHA256SUMS alone (``sha256sum -c`` reads it); nothing signs it."""
    (root / SUMS).write_text(sums_text(digests(root)), encoding="utf-8")


def signed_sums_text(profile: str, listed: dict[str, str]) -> str:
    """The body of SHA256SUMS.note: a header line, the profile, then SHA256SUMS's lines."""
    return f"{SIGNED_SUMS_HEADER}\nprofile {profile}\n{sums_text(listed)}"


def sign_bundle(root: Path, profile: str, signers: Sequence[Signer]) -> None:
    """Writes SHA256SUMS and SHA256SUMS.note, the same digests signed by the log's key(s), so a
    rewritten file cannot be hidden by rewriting the sums."""
    listed = digests(root)
    (root / SUMS).write_text(sums_text(listed), encoding="utf-8")
    note = sign_note(signed_sums_text(profile, listed), list(signers))
    (root / SIGNED_SUMS).write_text(note, encoding="utf-8")
