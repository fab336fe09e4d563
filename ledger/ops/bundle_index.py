"""The taxpayer index's log in an export bundle (auditor and protective-order profiles): its
signed checkpoint with cosignatures, and every leaf with the signed disclosure-log checkpoints
it covers, so an expert can rebuild the index from the log and compare each snapshot.

Files: ``index/checkpoint`` (the signed note as served) and ``index/leaves.jsonl`` (one JSON
object per index-log leaf: ``leaf_index``, ``snapshot`` hex, ``leaf`` base64, ``covered``:
``[{"log", "origin", "tree_size", "checkpoint"}]``). The manifest names them under
``files.taxpayer_index``; a ledger whose index has no signed snapshot yet exports neither.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from ledger.config import Settings
from ledger.keys import origin_for
from ledger.store import Connection
from ledger.store import taxpayer_index as store
from ledger.store.checkpoints import checkpoint_at
from ledger.tlog import bundle_check as bc
from ledger.tlog.index_log_check import IndexLogBundleError, check_index_log
from ledger.tlog.note import Verifier

CHECKPOINT = "index/checkpoint"
LEAVES = "index/leaves.jsonl"


def write_index_log(conn: Connection, out: Path, settings: Settings) -> dict[str, str]:
    """Write the index log's files (in the export's snapshot); the manifest's entry, or {}."""
    signed = store.latest_index_checkpoint(conn)
    if signed is None:
        return {}
    size, note = signed
    (out / "index").mkdir()
    (out / CHECKPOINT).write_text(note, encoding="utf-8")
    with (out / LEAVES).open("w", encoding="utf-8") as f:
        for snap in store.snapshots(conn)[:size]:
            covered = []
            for c in snap.covered:
                stored = checkpoint_at(conn, c.log_id, c.tree_size)
                covered.append(
                    {
                        "log": c.log_id,
                        "origin": origin_for(settings, c.log_id),
                        "tree_size": c.tree_size,
                        "checkpoint": None if stored is None else stored.note,
                    }
                )
            line = {
                "leaf_index": snap.seq,
                "snapshot": snap.snapshot.hex(),
                "leaf": base64.b64encode(snap.leaf).decode("ascii"),
                "covered": covered,
            }
            f.write(json.dumps(line, sort_keys=True) + "\n")
    return {"checkpoint": CHECKPOINT, "leaves": LEAVES}


def check_bundle_index(
    root: Path,
    files: object,
    verifiers: list[Verifier],
) -> int | None:
    """The index log a bundle carries, checked: its size, or None when it carries none. Its
    witnesses' cosignatures ride along but are not required: the index is cosigned a little
    after it is signed, and the disclosure logs' checkpoints are what --min-witnesses is for."""
    present = (root / CHECKPOINT).exists() or (root / LEAVES).exists()
    if files is None and not present:
        return None
    if files != {"checkpoint": CHECKPOINT, "leaves": LEAVES}:
        raise bc.BundleManifestError(
            f"manifest.json: files.taxpayer_index must name {CHECKPOINT} and {LEAVES}."
        )
    try:
        note = (root / CHECKPOINT).read_text(encoding="utf-8")
        text = (root / LEAVES).read_text(encoding="utf-8")
        leaves = [json.loads(line) for line in text.splitlines() if line]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexLogBundleError(f"{LEAVES}: not readable JSON lines ({exc}).") from exc
    if not all(isinstance(line, dict) for line in leaves):
        raise IndexLogBundleError(f"{LEAVES}: a line is not an object.")
    cp = bc.check_checkpoint(note, verifiers, CHECKPOINT)
    check_index_log(cp, leaves, verifiers, LEAVES)
    return cp.size
