"""The pure checks of an export bundle, and the per-bundle re-keying of taxpayer refs."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.cli.exit_codes import exit_code_of
from ledger.exit_codes import ExitCode
from ledger.ops.export_redact import Rekeyer
from ledger.tlog import bundle_check as bc
from ledger.tlog import merkle
from ledger.tlog.checkpoint import Checkpoint, sign
from ledger.tlog.note import Signer

SIGNER = Signer.generate("test-log")


def _tree(n: int) -> tuple[list[bytes], Checkpoint, str]:
    leaves = [merkle.leaf_hash(f"entry {i}".encode()) for i in range(n)]
    cp = Checkpoint("example.gov/log/0", n, merkle.root_from_leaf_hashes(leaves))
    return leaves, cp, sign(cp, [SIGNER])


def _proof_line(leaves: list[bytes], index: int) -> dict[str, object]:
    hashes = merkle.inclusion_proof(leaves, index, len(leaves))
    return {
        "leaf_index": index,
        "leaf_hash": base64.b64encode(leaves[index]).decode(),
        "hashes": [base64.b64encode(h).decode() for h in hashes],
    }


@given(st.integers(min_value=1, max_value=40), st.data())
def test_every_inclusion_line_verifies_and_a_wrong_leaf_does_not(n: int, data) -> None:
    leaves, cp, _ = _tree(n)
    i = data.draw(st.integers(min_value=0, max_value=n - 1))
    bc.check_inclusion(_proof_line(leaves, i), leaves[i], i, cp, "here")
    other = merkle.leaf_hash(b"forged")
    with pytest.raises(bc.BundleProofError):
        bc.check_inclusion(_proof_line(leaves, i), other, i, cp, "here")


def test_a_proof_for_another_leaf_index_is_refused() -> None:
    leaves, cp, _ = _tree(8)
    with pytest.raises(bc.BundleProofError, match="leaf 3"):
        bc.check_inclusion(_proof_line(leaves, 3), leaves[3], 4, cp, "here")


def test_checkpoint_signature_and_cosignature_seam() -> None:
    _, cp, note = _tree(5)
    assert bc.check_checkpoint(note, [SIGNER.verifier], "cp") == cp
    other = Signer.generate("test-log")
    with pytest.raises(bc.BundleCheckpointError) as err:
        bc.check_checkpoint(note, [other.verifier], "cp")
    assert exit_code_of(err.value) == ExitCode.BUNDLE_CHECKPOINT

    def want_witness(text: str) -> None:
        raise bc.BundleCheckpointError("no witness cosigned it")

    with pytest.raises(bc.BundleCheckpointError, match="witness"):
        bc.check_checkpoint(note, [SIGNER.verifier], "cp", want_witness)


def test_consistency_from_an_earlier_checkpoint() -> None:
    leaves, cp, note = _tree(13)
    old = Checkpoint(cp.origin, 6, merkle.root_from_leaf_hashes(leaves[:6]))
    proof = {
        "old_checkpoint": sign(old, [SIGNER]),
        "new_checkpoint": note,
        "hashes": [base64.b64encode(h).decode() for h in merkle.consistency_proof(leaves, 6, 13)],
    }
    assert bc.check_consistency(proof, [SIGNER.verifier], cp, "c") == old
    forked = Checkpoint(cp.origin, 6, merkle.leaf_hash(b"another history"))
    with pytest.raises(bc.BundleProofError):
        bc.check_consistency(
            {**proof, "old_checkpoint": sign(forked, [SIGNER])}, [SIGNER.verifier], cp, "c"
        )


def test_sums_name_the_file_that_differs_is_missing_or_is_unlisted() -> None:
    digest = hashlib.sha256(b"x").hexdigest()
    listed = bc.parse_sums(f"{digest}  a.json\n{digest}  b/c.txt\n")
    bc.check_sums(listed, {"a.json": digest, "b/c.txt": digest})
    with pytest.raises(bc.BundleFilesError, match=r"a\.json"):
        bc.check_sums(listed, {"a.json": "0" * 64, "b/c.txt": digest})
    with pytest.raises(bc.BundleFilesError, match="missing"):
        bc.check_sums(listed, {"a.json": digest})
    with pytest.raises(bc.BundleFilesError, match="not in SHA256SUMS"):
        bc.check_sums(listed, {"a.json": digest, "b/c.txt": digest, "d": digest})
    with pytest.raises(bc.BundleFilesError, match="line 1"):
        bc.parse_sums("not a sum line\n")


def test_entry_leaf_and_profiles() -> None:
    value = b"\xc3\x01message"
    bc.check_entry_leaf(value, merkle.leaf_hash(value), "e")
    with pytest.raises(bc.BundleEntryError, match="altered"):
        bc.check_entry_leaf(value + b"!", merkle.leaf_hash(value), "e")
    with pytest.raises(bc.BundleProfileError):
        bc.check_entry_profile("public", value, None, "e")
    with pytest.raises(bc.BundleProfileError, match="64-hex"):
        bc.check_entry_profile("protective-order", b"ref " + b"ab" * 32, None, "e")
    bc.check_entry_profile("protective-order", None, "{}", "e")
    with pytest.raises(bc.BundleProfileError):
        bc.check_entry_profile("auditor", None, "{}", "e")


def test_alert_evidence_must_be_in_the_bundle() -> None:
    a = "0b0e6a53-8f3c-4a43-a4b4-1f2a3b4c5d6e"
    b = "1b0e6a53-8f3c-4a43-a4b4-1f2a3b4c5d6e"
    alerts = [{"alert_id": "x", "rule": "r", "evidence": [a, b]}]
    assert bc.evidence_ids(alerts) == {a, b}
    bc.check_alert_evidence(alerts, {a, b}, "alerts.json")
    with pytest.raises(bc.BundleAlertsError, match=b):
        bc.check_alert_evidence(alerts, {a}, "alerts.json")


def test_public_counts_below_the_threshold_fail() -> None:
    bc.check_public_counts([{"disclosures": None, "records": 12}], 10, "c")
    with pytest.raises(bc.BundleProfileError, match="records 9"):
        bc.check_public_counts([{"disclosures": None, "records": 9}], 10, "c")


REF = st.text("0123456789abcdef", min_size=64, max_size=64)


@given(st.lists(REF, min_size=1, max_size=5))
def test_rekeying_keeps_pseudonyms_within_a_bundle_and_not_across(refs: list[str]) -> None:
    one, two = Rekeyer(), Rekeyer()
    record = {"taxpayer_refs": refs, "reason": f"corrects {refs[0]}", "manifest_sha256": refs[0]}
    first, again, other = one.record(record), one.record(record), two.record(record)
    assert first == again
    assert set(first["taxpayer_refs"]).isdisjoint(refs)
    assert set(first["taxpayer_refs"]).isdisjoint(other["taxpayer_refs"])
    assert refs[0] not in first["reason"]
    assert first["manifest_sha256"] == refs[0]  # a digest, not a person


def test_bundle_layout_refuses_paths_outside_it_and_files_a_profile_has_no_place_for() -> None:
    from ledger.ops import bundle_files as bf

    assert bf.checkpoint_path("ledger.disclosures/0") == "logs/ledger.disclosures/0/checkpoint"
    for bad in ("../etc/0", "ledger.disclosures/../0", "a/b/c", "/abs/0", "topic/x"):
        with pytest.raises(ValueError, match="not <topic>/<partition>"):
            bf.log_dir(bad)
    assert bf.allowed("auditor", "events.avro")
    assert bf.allowed("auditor", "logs/t.x.ledger.disclosures/2/inclusion.jsonl")
    assert bf.allowed("public", "logs/ledger.disclosures/2/checkpoint")
    assert bf.allowed("public", "daily_counts.json")
    assert not bf.allowed("public", "events.avro")
    assert not bf.allowed("public", "logs/ledger.disclosures/2/inclusion.jsonl")
    assert not bf.allowed("auditor", "daily_counts.json")
    assert not bf.allowed("protective-order", "notes.txt")


# --- the signed file list, labels, redacted records ---------------------------------------------


def _signed_list(files: dict[str, str], profile: str = "auditor", signer: Signer = SIGNER) -> str:
    from ledger.tlog.note import sign_note

    lines = "".join(f"{files[k]}  {k}\n" for k in sorted(files))
    return sign_note(f"{bc.SIGNED_SUMS_HEADER}\nprofile {profile}\n{lines}", [signer])


FILES = {"manifest.json": "a" * 64, "alerts.json": "b" * 64}


def test_a_signed_list_of_the_files_present_verifies() -> None:
    note = _signed_list(FILES, "protective-order")
    assert bc.check_signed_sums(note, [SIGNER.verifier], FILES, "n") == "protective-order"


@pytest.mark.parametrize(
    "present",
    [
        {**FILES, "alerts.json": "c" * 64},  # a rewritten file
        {"manifest.json": "a" * 64},  # a dropped file
        {**FILES, "extra.json": "d" * 64},  # an added file
    ],
)
def test_a_signed_list_that_differs_from_the_files_fails(present: dict[str, str]) -> None:
    with pytest.raises(bc.BundleSignatureError) as caught:
        bc.check_signed_sums(_signed_list(FILES), [SIGNER.verifier], present, "n")
    assert exit_code_of(caught.value) == ExitCode.BUNDLE_SIGNATURE


def test_a_list_signed_by_another_key_or_a_checkpoint_fails() -> None:
    other = Signer.generate("test-log")
    with pytest.raises(bc.BundleSignatureError):
        bc.check_signed_sums(_signed_list(FILES, signer=other), [SIGNER.verifier], FILES, "n")
    _, _, checkpoint = _tree(3)  # signed by the same key, but not a file list
    with pytest.raises(bc.BundleSignatureError, match="not a signed bundle file list"):
        bc.check_signed_sums(checkpoint, [SIGNER.verifier], {}, "n")


def test_a_file_list_is_never_a_checkpoint() -> None:
    from ledger.errors import VerificationError
    from ledger.tlog import checkpoint as tlog

    with pytest.raises(VerificationError):
        tlog.verify(_signed_list(FILES), [SIGNER.verifier])


def test_a_label_must_be_the_records_event_id() -> None:
    bc.check_entry_label("e1", {"event_id": "e1"}, "w")
    for record in ({"event_id": "e2"}, {}, None):
        with pytest.raises(bc.BundleEntryError):
            bc.check_entry_label("e1", record, "w")


def test_a_redacted_record_only_replaces_withheld_bytes_under_a_protective_order() -> None:
    bc.check_entry_profile("protective-order", None, "{}", "w")
    with pytest.raises(bc.BundleProfileError):
        bc.check_entry_profile("auditor", b"bytes", "{}", "w")
    with pytest.raises(bc.BundleProfileError):
        bc.check_entry_profile("protective-order", b"bytes", "{}", "w")
