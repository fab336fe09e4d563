"""`ledger export` and `ledger verify-bundle` on real services: bundles verify offline, and a
flipped byte in any kind of file is caught, named, and given its own exit code."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from consumers.service import start_consumers
from ledger.cli.exit_codes import exit_code_of
from ledger.keys import load_signers, signing_key_path
from ledger.runtime import Ledger
from ledger.schema_registry import default_registry
from tests.integration.helpers import (
    at,
    caught_up,
    cli_env,
    disclosure,
    emit,
    isolated_ledger,
    rows,
    wait_until,
)

pytestmark = pytest.mark.integration
D = date(2025, 8, 7)
ICE = "Immigration and Customs Enforcement"
I2 = "26 U.S.C. 6103(i)(2)"
REFS = [hashlib.sha256(f"taxpayer-{i}".encode()).hexdigest() for i in range(6)]
ORDER = f"O-{uuid.uuid4().hex[:8]}"


def ledger_cli(led: Ledger, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [shutil.which("ledger") or "ledger", *args],
        capture_output=True,
        text=True,
        check=False,
        env=cli_env(led),
        timeout=300,
    )


def all_checkpointed(led: Ledger) -> bool:
    (entries,) = rows(led, "SELECT count(*) FROM entries")[0]
    signed = rows(
        led,
        "SELECT coalesce(sum(s), 0) FROM (SELECT max(tree_size) s FROM checkpoints GROUP BY log_id) x",
    )[0][0]
    return entries > 0 and signed == entries


@pytest.fixture(scope="module")
def led(ledger_settings) -> Iterator[Ledger]:
    led = isolated_ledger(ledger_settings, "export", partitions=2)
    running = start_consumers(led)
    try:
        steady = [
            disclosure(
                D - timedelta(days=d), 100, "Steady Recipient", authority="26 U.S.C. 6103(i)(1)"
            )
            for d in range(10, 0, -1)
        ]
        stay = {
            "type": "CourtOrderRecorded",
            "order_id": ORDER,
            "case_reference": "1:25-cv-00457",
            "court": "U.S. District Court for the District of Columbia",
            "order_type": "STAY",
            "entered_at": at(D - timedelta(days=2)),
            "effective_at": at(D - timedelta(days=2)),
            "expires_at": None,
            # DHS, not ICE: the export judges coverage by the registry, as the rules do.
            "recipients": ["Department of Homeland Security"],
            "authorities": ["26 USC 6103(i)"],
            "description": "stay for the export test",
        }
        spike = [disclosure(D, 40 + i, ICE, authority=I2, when=at(D, 9 + i)) for i in range(3)] + [
            disclosure(D, 47289, ICE, authority=I2, taxpayer_refs=REFS, manifest_sha256="ab" * 32)
        ]
        small = [disclosure(D, 3, "Small Recipient", authority=I2, when=at(D, 15))]
        emit(led, steady)
        emit(led, [stay])
        emit(led, spike + small)
        caught_up(led)
        wait_until(lambda: all_checkpointed(led), 60, "checkpoints over every entry")
        yield led
    finally:
        running.stop()


def vkey(led: Ledger) -> str:
    return load_signers(signing_key_path(led.settings))[0].vkey


@pytest.fixture(scope="module")
def auditor_bundle(led: Ledger, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundles") / "auditor"
    done = ledger_cli(led, "export", "--out", str(out), "--since", str(D), "--until", str(D))
    assert done.returncode == 0, done.stderr
    return out


def verify(led: Ledger, bundle: Path) -> subprocess.CompletedProcess[str]:
    return ledger_cli(led, "verify-bundle", str(bundle), "--key", vkey(led))


def test_the_days_bundle_verifies_offline_and_holds_the_days_entries(
    led: Ledger, auditor_bundle: Path
) -> None:
    ok = verify(led, auditor_bundle)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("OK auditor bundle")
    assert ok.stdout.count("\n") == 1
    manifest = json.loads((auditor_bundle / "manifest.json").read_text())
    day_ids = {
        r[0] for r in rows(led, "SELECT event_id::text FROM disclosures WHERE day = %s", (D,))
    }
    assert len(day_ids) == 5
    assert manifest["counts"]["by_type"]["DisclosureRecorded"] == 5
    # The stay lies outside the day but an alert cites it, so it comes along as evidence.
    assert manifest["counts"]["by_type"]["CourtOrderRecorded"] == 1
    alerts = json.loads((auditor_bundle / "alerts.json").read_text())
    (order_id,) = rows(led, "SELECT event_id::text FROM court_orders")[0]
    stays = [a for a in alerts if a["rule"] == "disclosure_during_stay"]
    # One per transmission of the day, each citing the order: ICE's four, and Small Recipient's
    # (unknown to the registry, so covered by a stay of DHS until someone maps it: docs/names.md).
    assert len(stays) == 5
    assert all(order_id in a["evidence"] for a in stays)
    assert (auditor_bundle / "schemas/DisclosureRecorded/v1.avsc").exists()
    assert manifest["timezone"] == "America/New_York"
    sums = subprocess.run(
        ["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=auditor_bundle, check=False
    )
    assert sums.returncode == 0


def test_apache_avro_reads_the_exact_message_bytes(led: Ledger, auditor_bundle: Path) -> None:
    from avro.datafile import DataFileReader
    from avro.io import DatumReader

    with (auditor_bundle / "events.avro").open("rb") as f:
        records = list(DataFileReader(f, DatumReader()))
    stored = {r[0]: bytes(r[1]) for r in rows(led, "SELECT event_id::text, value FROM entries")}
    assert (
        len(records)
        == json.loads((auditor_bundle / "manifest.json").read_text())["counts"]["entries"]
    )
    for r in records:
        assert r["value"] == stored[r["event_id"]]
        assert r["leaf_hash"] == hashlib.sha256(b"\x00" + r["value"]).digest()


def _flip_in(path: Path, needle: bytes, offset: int = 0) -> None:
    data = bytearray(path.read_bytes())
    at_ = data.index(needle) + offset
    data[at_] = ord("B") if data[at_] != ord("B") else ord("C")
    path.write_bytes(bytes(data))


def _first_value(bundle: Path) -> bytes:
    import fastavro

    with (bundle / "events.avro").open("rb") as f:
        return bytes(next(iter(fastavro.reader(f)))["value"])  # type: ignore[index]


SIGNED_LIST_HEADER = "disclosure-ledger-bundle/1 signed file list"  # the wire format, pinned here


def resign(led: Ledger, bundle: Path, profile: str | None = None) -> None:
    """SHA256SUMS and SHA256SUMS.note rewritten and signed with the ledger's own key: what the
    key's holder (or a bug in the exporter) could produce. A forger without the key is refused
    by the signed list (tests/integration/test_bundle_proves.py); these bundles test the checks
    beneath it."""
    from ledger.ops.bundle_files import write_sums
    from ledger.tlog.note import sign_note

    write_sums(bundle)
    if profile is None:  # the profile the exporter signed (the manifest may be garbled)
        profile = (bundle / "SHA256SUMS.note").read_text().split("\n")[1].removeprefix("profile ")
    body = f"{SIGNED_LIST_HEADER}\nprofile {profile}\n{(bundle / 'SHA256SUMS').read_text()}"
    signers = load_signers(signing_key_path(led.settings))
    (bundle / "SHA256SUMS.note").write_text(sign_note(body, signers))


def _first_log(bundle: Path) -> str:
    """The first log of the disclosures topic (court logs hold a single order here)."""
    logs = [entry["log"] for entry in json.loads((bundle / "manifest.json").read_text())["logs"]]
    return next(log for log in logs if ".ledger.disclosures/" in log)


# (kind, file, needle to flip a byte in, offset into it, exit code once the sums are rewritten)
# The schema the entries are written with (the newest version; older ones ship for resolution).
WRITER_SCHEMA = (
    f"schemas/DisclosureRecorded/v{default_registry().latest('DisclosureRecorded').version}.avsc"
)
TAMPER = [
    ("events", "events.avro", None, 20, 31),
    ("proof", "inclusion.jsonl", b'"hashes":["', 14, 32),
    ("checkpoint", "checkpoint", b"\n", 3, 33),
    ("alerts", "alerts.json", b'"evidence": [\n      "', 12, 34),
    ("schema", WRITER_SCHEMA, b'"recorded_by"', 5, 35),
    ("manifest", "manifest.json", b'"auditor"', 3, 36),
]


@pytest.mark.parametrize(("kind", "rel", "needle", "offset", "code"), TAMPER)
def test_a_flipped_byte_is_named_with_its_exit_code(
    led: Ledger, auditor_bundle: Path, tmp_path: Path, kind: str, rel: str, needle, offset, code
) -> None:
    bundle = tmp_path / "b"
    shutil.copytree(auditor_bundle, bundle)
    log = _first_log(bundle)
    if rel in ("inclusion.jsonl", "checkpoint"):
        rel = f"logs/{log}/{rel}"
    if kind == "events":
        needle = _first_value(bundle)
    if kind == "checkpoint":
        needle = b"\n" + (bundle / rel).read_text().split("\n")[1].encode() + b"\n"
    _flip_in(bundle / rel, needle, offset)
    plain = verify(led, bundle)
    assert plain.returncode == 30, plain.stderr
    assert rel in plain.stderr
    assert "SHA256SUMS" in plain.stderr
    assert plain.stderr.count("\n") == 1
    assert "Traceback" not in plain.stderr
    resign(led, bundle)  # a bad bundle signed all the same is caught by the check of that kind
    forged = verify(led, bundle)
    assert forged.returncode == code, forged.stderr
    assert "Traceback" not in forged.stderr


def test_a_flipped_byte_in_the_sums_themselves(
    led: Ledger, auditor_bundle: Path, tmp_path: Path
) -> None:
    bundle = tmp_path / "b"
    shutil.copytree(auditor_bundle, bundle)
    sums = bundle / "SHA256SUMS"
    data = bytearray(sums.read_bytes())
    at_ = data.index(b"  events.avro") - 3
    data[at_] = ord("0") if data[at_] != ord("0") else ord("1")  # still a well-formed digest
    sums.write_bytes(bytes(data))
    bad = verify(led, bundle)
    assert bad.returncode == 30
    assert "events.avro" in bad.stderr


def test_an_unlisted_file_fails(led: Ledger, auditor_bundle: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "b"
    shutil.copytree(auditor_bundle, bundle)
    (bundle / "extra.txt").write_text("slipped in")
    bad = verify(led, bundle)
    assert bad.returncode == 30
    assert "extra.txt" in bad.stderr


def _all_bytes(bundle: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(bundle.rglob("*")) if p.is_file())


def test_protective_order_bundle_verifies_without_any_ref(led: Ledger, tmp_path: Path) -> None:
    out = tmp_path / "po"
    done = ledger_cli(
        led, "export", "--out", str(out), "--since", str(D), "--profile", "protective-order"
    )
    assert done.returncode == 0, done.stderr
    ok = verify(led, out)
    assert ok.returncode == 0, ok.stderr
    assert "by leaf hash only" in ok.stdout
    blob = _all_bytes(out).lower()
    for ref in REFS:
        assert ref.encode() not in blob
    import fastavro

    with (out / "events.avro").open("rb") as f:
        withheld = [r for r in fastavro.reader(f) if r["value"] is None]  # type: ignore[index]
    assert len(withheld) == 1
    record = json.loads(withheld[0]["redacted_record"])  # type: ignore[index]
    assert len(record["taxpayer_refs"]) == len(REFS)
    assert set(record["taxpayer_refs"]).isdisjoint(REFS)
    again = tmp_path / "po2"
    assert (
        ledger_cli(
            led, "export", "--out", str(again), "--since", str(D), "--profile", "protective-order"
        ).returncode
        == 0
    )
    with (again / "events.avro").open("rb") as f:
        other = next(r for r in fastavro.reader(f) if r["value"] is None)  # type: ignore[index]
    assert set(json.loads(other["redacted_record"])["taxpayer_refs"]).isdisjoint(
        record["taxpayer_refs"]
    )  # type: ignore[index]


def test_public_bundle_holds_counts_only_and_rejects_bytes(led: Ledger, tmp_path: Path) -> None:
    out = tmp_path / "pub"
    done = ledger_cli(led, "export", "--out", str(out), "--profile", "public")
    assert done.returncode == 0, done.stderr
    ok = verify(led, out)
    assert ok.returncode == 0, ok.stderr
    assert not (out / "events.avro").exists()
    assert not list(out.rglob("inclusion.jsonl"))
    assert list(out.rglob("checkpoint"))
    counts = json.loads((out / "daily_counts.json").read_text())
    small = [r for r in counts["rows"] if r["recipient"] == "Small Recipient"]
    assert small
    assert small[0]["records"] is None
    assert small[0]["disclosures"] is None
    spike = [r for r in counts["rows"] if r["recipient"] == ICE]
    assert spike[0]["records"] == 47289 + 40 + 41 + 42
    blob = _all_bytes(out).lower()
    for ref in REFS:
        assert ref.encode() not in blob
    shutil.copyfile(_any_events(led, tmp_path), out / "events.avro")
    resign(led, out)
    bad = verify(led, out)
    assert bad.returncode == 37, bad.stderr
    assert "public" in bad.stderr


def _any_events(led: Ledger, tmp_path: Path) -> Path:
    out = tmp_path / "for-public"
    assert ledger_cli(led, "export", "--out", str(out), "--since", str(D)).returncode == 0
    return out / "events.avro"


def test_order_and_recipient_filters(led: Ledger, tmp_path: Path) -> None:
    out = tmp_path / "order"
    done = ledger_cli(led, "export", "--out", str(out), "--order", ORDER)
    assert done.returncode == 0, done.stderr
    assert verify(led, out).returncode == 0
    import fastavro

    with (out / "events.avro").open("rb") as f:
        types = [r["event_type"] for r in fastavro.reader(f)]  # type: ignore[index]
    # The transmissions while the stay of DHS under 6103(i) held: ICE's four, and the unknown
    # Small and Steady recipients' three (covered until someone maps them: docs/names.md).
    assert types.count("DisclosureRecorded") == 7
    assert types.count("CourtOrderRecorded") == 1
    steady = tmp_path / "steady"
    assert (
        ledger_cli(
            led, "export", "--out", str(steady), "--recipient", "Steady Recipient"
        ).returncode
        == 0
    )
    m = json.loads((steady / "manifest.json").read_text())
    assert m["counts"]["by_type"]["DisclosureRecorded"] == 10
    assert m["filters"]["recipient"] == "Steady Recipient"
    # Handing out evidence is recorded like any query.
    wait_until(
        lambda: (
            rows(
                led,
                "SELECT count(*) FROM entries WHERE event_type = 'LedgerAccessed'"
                " AND body::jsonb->>'action' = 'export' AND body::jsonb->'query'->>'recipient' = 'Steady Recipient'",
            )[0][0]
            == 1
        ),
        30,
        "the export's access record",
    )


def test_consistency_from_an_earlier_checkpoint(led: Ledger, tmp_path: Path) -> None:
    log_id, note = rows(led, "SELECT log_id, note FROM checkpoints ORDER BY tree_size LIMIT 1")[0]
    earlier = tmp_path / "earlier.note"
    earlier.write_text(note)
    out = tmp_path / "cons"
    done = ledger_cli(
        led, "export", "--out", str(out), "--since", str(D), "--since-checkpoint", str(earlier)
    )
    assert done.returncode == 0, done.stderr
    proofs = list(out.glob(f"logs/{log_id}/consistency-*.json"))
    assert len(proofs) == 1
    assert verify(led, out).returncode == 0
    assert ledger_cli(led, "verify-proof", str(proofs[0]), "--key", vkey(led)).returncode == 0
    # A checkpoint of another history (same origin and key, another root) is not extended.
    from ledger.tlog.checkpoint import Checkpoint, sign

    body = note[: note.rfind("\n\n") + 1]
    cp = Checkpoint.parse(body)
    forked = Checkpoint(cp.origin, cp.size, hashlib.sha256(b"another history").digest())
    earlier.write_text(sign(forked, load_signers(signing_key_path(led.settings))))
    refused = ledger_cli(
        led, "export", "--out", str(tmp_path / "forked"), "--since-checkpoint", str(earlier)
    )
    assert refused.returncode == 6, refused.stderr
    assert "not consistent" in refused.stderr
    assert not (tmp_path / "forked").exists()


def test_bad_flags_get_one_line_and_exit_2(
    led: Ledger, tmp_path: Path, auditor_bundle: Path
) -> None:
    for args in (
        ["export", "--out", str(tmp_path / "x"), "--profile", "everything"],
        ["export", "--out", str(tmp_path / "y"), "--since", "7 August"],
        ["export", "--out", str(auditor_bundle)],  # not empty
        ["export", "--out", str(tmp_path / "z"), "--order", "no-such-order"],
        ["verify-bundle", str(auditor_bundle), "--keys", "x"],
        ["verify-bundle", str(auditor_bundle), "--key", "not-a-key"],
        ["verify-bundle", str(tmp_path / "nowhere"), "--key", vkey(led)],
        ["verify-bundle", str(auditor_bundle)],
    ):
        bad = ledger_cli(led, *args)
        assert bad.returncode == 2, (args, bad.stderr)
        assert bad.stderr.count("\n") == 1
        assert "Traceback" not in bad.stderr
    assert not (tmp_path / "z").exists()  # a refused export leaves nothing behind
    assert (auditor_bundle / "manifest.json").exists()  # and never touches a bundle in the way


def test_the_demo_spike_day_exports_and_verifies(demo_ledger: Ledger, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    day = "2025-08-07"
    done = ledger_cli(demo_ledger, "export", "--out", str(out), "--since", day, "--until", day)
    assert done.returncode == 0, done.stderr
    ok = verify(demo_ledger, out)
    assert ok.returncode == 0, ok.stderr
    m = json.loads((out / "manifest.json").read_text())
    assert m["counts"]["by_type"]["DisclosureRecorded"] >= 1
    assert any(
        a["rule"] == "spike_over_prior_year" for a in json.loads((out / "alerts.json").read_text())
    )


@pytest.mark.parametrize(
    "rel", ["events.avro", "inclusion.jsonl", "alerts.json", "manifest.json", "checkpoint"]
)
def test_any_flipped_byte_with_rewritten_sums_fails_cleanly_or_changes_nothing_checked(
    led: Ledger, auditor_bundle: Path, tmp_path: Path, rel: str
) -> None:
    """A bundle re-signed after flipping any byte gets a bundle error (never a crash); a flip may
    pass only where nothing checked lives (Avro schema docs, JSON whitespace, created_at)."""
    import random

    from ledger.errors import VerificationError
    from ledger.ops.bundle_verify import verify_bundle

    if rel in ("inclusion.jsonl", "checkpoint"):
        rel = f"logs/{_first_log(auditor_bundle)}/{rel}"
    size = (auditor_bundle / rel).stat().st_size
    rng = random.Random(rel)
    failed = 0
    for n, position in enumerate(rng.sample(range(size), min(size, 150))):
        bundle = tmp_path / str(n)
        shutil.copytree(auditor_bundle, bundle)
        data = bytearray((bundle / rel).read_bytes())
        data[position] ^= 1 << rng.randrange(8)
        (bundle / rel).write_bytes(bytes(data))
        resign(led, bundle)
        codes = []
        try:
            verify_bundle(bundle, [vkey(led)])
        except VerificationError as exc:
            codes.append(exit_code_of(exc))
        assert all(31 <= c <= 37 for c in codes), codes
        failed += len(codes)
        shutil.rmtree(bundle)
    assert failed > 0


def test_go_sumdb_tools_verify_the_bundle_without_our_code(
    led: Ledger, auditor_bundle: Path, tmp_path: Path
) -> None:
    """golang.org/x/mod/sumdb/note opens the signed file list and each checkpoint, and
    tlog.CheckRecord checks every inclusion proof (tests/assets/go_verify_bundle); the Apache
    avro test above ties leaf hashes to bytes. Skipped only where no Go toolchain is installed."""
    go = shutil.which("go")
    if go is None:
        pytest.skip("no Go toolchain on this machine")
    program = Path(__file__).resolve().parent.parent / "assets" / "go_verify_bundle"
    run = [go, "run", ".", str(auditor_bundle), vkey(led)]
    ok = subprocess.run(run, cwd=program, capture_output=True, text=True, check=False, timeout=300)
    assert ok.returncode == 0, ok.stderr
    entries = json.loads((auditor_bundle / "manifest.json").read_text())["counts"]["entries"]
    assert ok.stdout.startswith(f"OK {entries} proofs")
    assert "files as signed" in ok.stdout
    bundle = tmp_path / "b"
    shutil.copytree(auditor_bundle, bundle)
    proofs = bundle / "logs" / _first_log(bundle) / "inclusion.jsonl"
    lines = proofs.read_text().splitlines()
    first = json.loads(lines[0])
    first["leaf_index"] += 1
    proofs.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    run[3] = str(bundle)
    bad = subprocess.run(run, cwd=program, capture_output=True, text=True, check=False, timeout=300)
    assert bad.returncode == 1
    # The signed file list, checked by Go alone: alerts made "info" behind recomputed sums fail.
    forged = tmp_path / "forged"
    shutil.copytree(auditor_bundle, forged)
    alerts = json.loads((forged / "alerts.json").read_text())
    (forged / "alerts.json").write_text(json.dumps([{**a, "severity": "info"} for a in alerts]))
    from ledger.ops.bundle_files import write_sums

    write_sums(forged)
    run[3] = str(forged)
    bad = subprocess.run(run, cwd=program, capture_output=True, text=True, check=False, timeout=300)
    assert bad.returncode == 1
    assert "alerts.json" in bad.stderr
