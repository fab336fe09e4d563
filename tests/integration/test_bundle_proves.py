"""A bundle proves what it says (issue 23): everything a verdict rests on is signed, labels are
compared with the bytes, and hostile files are refused before they are read.

Each test tampers with a real export the way the security review did: first as a forger without
the log key, who can only recompute SHA256SUMS (refused: the signed file list no longer matches,
exit 38); then, where a check beneath the signature exists, as if the key's holder had signed
the bad bundle (`resign`), which that check must still refuse. Every verdict is the exit status
of `ledger verify-bundle` run as a subprocess, under a memory cap so a bundle that exhausts
memory fails the test instead of the machine.
"""

from __future__ import annotations

import io
import json
import os
import resource
import shutil
import subprocess
import zlib
from pathlib import Path
from typing import Any

import fastavro
import pytest

from ledger.ops.bundle_files import write_sums
from ledger.runtime import Ledger
from tests.integration.helpers import cli_env
from tests.integration.test_export_bundle import (
    SIGNED_LIST_HEADER,
    D,
    auditor_bundle,
    led,
    resign,
    vkey,
)

__all__ = ["auditor_bundle", "led"]  # the module fixtures, shared with test_export_bundle

pytestmark = pytest.mark.integration
MEMORY_CAP = 1536 << 20


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def verify(led: Ledger, bundle: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [shutil.which("ledger") or "ledger", "verify-bundle", str(bundle), "--key", vkey(led)],
        capture_output=True,
        text=True,
        check=False,
        env=cli_env(led),
        timeout=timeout,
        preexec_fn=_capped,
    )


def copy(bundle: Path, tmp_path: Path) -> Path:
    out = tmp_path / "b"
    shutil.copytree(bundle, out, symlinks=True)
    return out


def _json(path: Path) -> Any:
    return json.loads(path.read_text())


def _put_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2) + "\n")


def _entries(bundle: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with (bundle / "events.avro").open("rb") as f:
        reader = fastavro.reader(f)
        return reader.writer_schema, list(reader)  # type: ignore[arg-type]


def _write_entries(bundle: Path, records: list[dict[str, Any]], codec: str = "null") -> None:
    schema, _ = _entries(bundle)
    with (bundle / "events.avro").open("wb") as f:
        fastavro.writer(f, fastavro.parse_schema(schema), records, codec=codec)


def _refused_by_signature(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 38, (done.returncode, done.stderr)
    assert "SHA256SUMS.note" in done.stderr
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


def test_an_untouched_bundle_carries_a_signed_file_list(led: Ledger, auditor_bundle: Path) -> None:
    ok = verify(led, auditor_bundle)
    assert ok.returncode == 0, ok.stderr
    note = (auditor_bundle / "SHA256SUMS.note").read_text()
    assert note.startswith(f"{SIGNED_LIST_HEADER}\nprofile auditor\n")
    assert (auditor_bundle / "SHA256SUMS").read_text() in note
    # Alerts carry their status and its history, which the signed list covers with them.
    for alert in _json(auditor_bundle / "alerts.json"):
        assert alert["status"] in ("open", "resolved")
        assert isinstance(alert["status_changes"], list)
        assert isinstance(alert["acknowledgements"], list)


def test_rewritten_alerts_json_fails_verify_bundle(
    led: Ledger, auditor_bundle: Path, tmp_path: Path
) -> None:
    bundle = copy(auditor_bundle, tmp_path)
    alerts = _json(bundle / "alerts.json")
    assert alerts
    assert any(a["severity"] != "info" for a in alerts)
    _put_json(bundle / "alerts.json", [{**a, "severity": "info"} for a in alerts])
    write_sums(bundle)
    _refused_by_signature(verify(led, bundle))


def test_made_up_alert_fails(led: Ledger, auditor_bundle: Path, tmp_path: Path) -> None:
    bundle = copy(auditor_bundle, tmp_path)
    alerts = _json(bundle / "alerts.json")
    made_up = {**alerts[0], "alert_id": "00000000-0000-4000-8000-000000000001"}
    made_up.update(rule="spike_over_prior_year", severity="critical", message="made up")
    _put_json(bundle / "alerts.json", [*alerts, made_up])
    manifest = _json(bundle / "manifest.json")
    manifest["counts"]["alerts"] += 1
    _put_json(bundle / "manifest.json", manifest)
    write_sums(bundle)
    _refused_by_signature(verify(led, bundle))


def test_dropped_alert_with_disclosures_fails(
    led: Ledger, auditor_bundle: Path, tmp_path: Path
) -> None:
    """The alerts citing one disclosure are dropped with it, its proof line and its counts: a
    bundle consistent in itself, which only the signature can tell from the exported one."""
    bundle = copy(auditor_bundle, tmp_path)
    alerts = _json(bundle / "alerts.json")
    victim = alerts[0]["evidence"][0]
    _, records = _entries(bundle)
    (dropped,) = [r for r in records if r["event_id"] == victim]
    assert dropped["event_type"] == "DisclosureRecorded"
    _write_entries(bundle, [r for r in records if r["event_id"] != victim])
    proofs = bundle / "logs" / dropped["log"] / "inclusion.jsonl"
    lines = [ln for ln in proofs.read_text().splitlines() if json.loads(ln)["event_id"] != victim]
    proofs.write_text("".join(ln + "\n" for ln in lines))
    kept = [a for a in alerts if victim not in a["evidence"]]
    _put_json(bundle / "alerts.json", kept)
    manifest = _json(bundle / "manifest.json")
    counts = manifest["counts"]
    counts["entries"] -= 1
    counts["by_type"]["DisclosureRecorded"] -= 1
    counts["alerts"] = len(kept)
    for log in manifest["logs"]:
        if log["log"] == dropped["log"]:
            log["entries"] -= 1
    _put_json(bundle / "manifest.json", manifest)
    write_sums(bundle)
    _refused_by_signature(verify(led, bundle))


def test_changed_manifest_filters_fail(led: Ledger, auditor_bundle: Path, tmp_path: Path) -> None:
    bundle = copy(auditor_bundle, tmp_path)
    manifest = _json(bundle / "manifest.json")
    assert manifest["filters"]["since"] == str(D)
    manifest["filters"].update(since="2025-01-01", recipient="Steady Recipient")
    _put_json(bundle / "manifest.json", manifest)
    write_sums(bundle)
    _refused_by_signature(verify(led, bundle))


def _swap_labels(bundle: Path) -> None:
    """The event-id labels of the first two entries of one log swapped, in events.avro and in
    that log's proofs alike, so every label still agrees with every other label."""
    _, records = _entries(bundle)
    by_log: dict[str, list[dict[str, Any]]] = {}
    for record in records:  # court logs may hold a single order: take a log with two entries
        by_log.setdefault(record["log"], []).append(record)
    a, b = next(rs[:2] for rs in by_log.values() if len(rs) >= 2)
    assert a["event_id"] != b["event_id"]
    a["event_id"], b["event_id"] = b["event_id"], a["event_id"]
    _write_entries(bundle, records)
    proofs = bundle / "logs" / a["log"] / "inclusion.jsonl"
    lines = [json.loads(ln) for ln in proofs.read_text().splitlines()]
    lines[0]["event_id"], lines[1]["event_id"] = lines[1]["event_id"], lines[0]["event_id"]
    proofs.write_text("".join(json.dumps(ln) + "\n" for ln in lines))


def test_swapped_event_id_labels_fail(led: Ledger, auditor_bundle: Path, tmp_path: Path) -> None:
    bundle = copy(auditor_bundle, tmp_path)
    _swap_labels(bundle)
    write_sums(bundle)
    _refused_by_signature(verify(led, bundle))
    resign(led, bundle)  # even signed, a label must be the id the bytes hold
    signed = verify(led, bundle)
    assert signed.returncode == 31, signed.stderr
    assert "labelled event" in signed.stderr


def test_redacted_record_outside_protective_order_fails(
    led: Ledger, auditor_bundle: Path, tmp_path: Path
) -> None:
    bundle = copy(auditor_bundle, tmp_path)
    _, records = _entries(bundle)
    first = records[0]
    story = {"event_id": first["event_id"], "recipient_agency": "Nobody", "record_count": 1}
    first["redacted_record"] = json.dumps(story)
    _write_entries(bundle, records)
    write_sums(bundle)
    _refused_by_signature(verify(led, bundle))
    resign(led, bundle)
    signed = verify(led, bundle)
    assert signed.returncode == 37, signed.stderr
    assert "redacted_record" in signed.stderr


def _unlisted(led: Ledger, bundle: Path, rel: str) -> Path:
    """``rel`` taken out of the bundle and its sums, so a special file can take its place."""
    (bundle / rel).unlink()
    write_sums(bundle)
    return bundle / rel


def test_symlink_to_dev_zero_in_bundle_is_refused(
    led: Ledger, auditor_bundle: Path, tmp_path: Path
) -> None:
    bundle = copy(auditor_bundle, tmp_path)
    log = _json(bundle / "manifest.json")["logs"][0]["log"]
    _unlisted(led, bundle, f"logs/{log}/inclusion.jsonl").symlink_to("/dev/zero")
    done = verify(led, bundle, timeout=120)
    assert done.returncode == 50, (done.returncode, done.stderr[-300:])
    assert "not a regular file" in done.stderr
    assert "Traceback" not in done.stderr


def test_symlink_to_a_file_outside_the_bundle_is_refused(
    led: Ledger, auditor_bundle: Path, tmp_path: Path
) -> None:
    bundle = copy(auditor_bundle, tmp_path)
    outside = tmp_path / "outside.json"
    outside.write_text("[]\n")
    (bundle / "alerts.json").unlink()
    (bundle / "alerts.json").symlink_to(outside)
    done = verify(led, bundle)
    assert done.returncode == 50, (done.returncode, done.stderr)


def test_fifo_in_bundle_is_refused(led: Ledger, auditor_bundle: Path, tmp_path: Path) -> None:
    bundle = copy(auditor_bundle, tmp_path)
    log = _json(bundle / "manifest.json")["logs"][0]["log"]
    os.mkfifo(_unlisted(led, bundle, f"logs/{log}/inclusion.jsonl"))
    done = verify(led, bundle, timeout=120)  # before the fix: blocked on open() until killed
    assert done.returncode == 50, (done.returncode, done.stderr)
    assert "not a regular file" in done.stderr


def _zigzag(n: int) -> bytes:
    """An Avro long."""
    n, out = (n << 1) ^ (n >> 63), bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(out + bytes([n]))


def _deflate_bomb(bundle: Path, inflated: int = 3 << 30) -> None:
    """events.avro rewritten as a deflate container whose one block inflates to ``inflated``
    zero bytes (about 3 MB on disk)."""
    schema, records = _entries(bundle)
    buf = io.BytesIO()
    fastavro.writer(buf, fastavro.parse_schema(schema), records[:1], codec="deflate")
    data = buf.getvalue()
    sync = data[-16:]  # every block ends with the file's sync marker; the header ends with it too
    header = data[: data.index(sync) + 16]
    z, chunk, body = zlib.compressobj(6, zlib.DEFLATED, -15), bytes(1 << 24), bytearray()
    for _ in range(inflated // len(chunk)):
        body += z.compress(chunk)
    body += z.flush()
    block = _zigzag(1 << 20) + _zigzag(len(body)) + bytes(body) + sync
    (bundle / "events.avro").write_bytes(header + block)


def test_deflate_bomb_is_refused(led: Ledger, auditor_bundle: Path, tmp_path: Path) -> None:
    bundle = copy(auditor_bundle, tmp_path)
    _deflate_bomb(bundle)
    write_sums(bundle)
    _refused_by_signature(verify(led, bundle))
    resign(led, bundle)  # even signed, a compressed events.avro is refused unread
    signed = verify(led, bundle)
    assert signed.returncode == 50, (signed.returncode, signed.stderr)
    assert "compressed" in signed.stderr


def test_deep_json_bundle_gives_named_exit_code(
    led: Ledger, auditor_bundle: Path, tmp_path: Path
) -> None:
    bundle = copy(auditor_bundle, tmp_path)
    (bundle / "alerts.json").write_text("[" * 100_000 + "]" * 100_000 + "\n")
    write_sums(bundle)
    _refused_by_signature(verify(led, bundle))
    resign(led, bundle)
    signed = verify(led, bundle)
    assert signed.returncode == 51, (signed.returncode, signed.stderr)
    assert "deeper than" in signed.stderr
    assert "Traceback" not in signed.stderr
    assert "RecursionError" not in signed.stderr


def test_a_protective_order_bundle_is_signed_for_its_profile(led: Ledger, tmp_path: Path) -> None:
    out = tmp_path / "po"
    done = subprocess.run(
        [
            shutil.which("ledger") or "ledger",
            "export",
            "--out",
            str(out),
            "--since",
            str(D),
            "--profile",
            "protective-order",
        ],
        capture_output=True,
        text=True,
        check=False,
        env=cli_env(led),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert verify(led, out).returncode == 0
    note = (out / "SHA256SUMS.note").read_text()
    assert "\nprofile protective-order\n" in note
    # Relabelled as an auditor bundle: the signed list names its profile; and even re-signed,
    # its withheld entries give it away.
    manifest = _json(out / "manifest.json")
    manifest["profile"] = "auditor"
    _put_json(out / "manifest.json", manifest)
    write_sums(out)
    _refused_by_signature(verify(led, out))
    resign(led, out, profile="auditor")
    signed = verify(led, out)
    assert signed.returncode == 37, signed.stderr
