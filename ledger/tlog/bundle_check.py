"""The pure checks of an export bundle: sums, entries, proofs, checkpoints, alerts, profiles.

Reading the files is ``ledger.ops.bundle_verify``'s job; everything here works on values, so the
same checks run on a bundle on disk, in a test, or in another tool. Each kind of failure is its
own error class, so a caller can tell them apart, and its message names the file, the entry and
what differs.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ledger.errors import VerificationError
from ledger.tlog import checkpoint as tlog
from ledger.tlog import merkle
from ledger.tlog.cosignature import TooFewCosignaturesError
from ledger.tlog.note import NoteError, Verifier, open_note

PROFILES = ("auditor", "protective-order", "public")
# A taxpayer ref is 64 hex digits; a protective-order bundle ships an entry's bytes only when
# they hold no such run (manifest_sha256 is one too, so those entries ship their leaf hash only).
HEX64 = re.compile(rb"[0-9a-fA-F]{64}")
_SUM_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")
# The first line of SHA256SUMS.note's body. It is no log's origin and its second line is no tree
# size, so a note signed as a bundle listing can never pass as a checkpoint, nor one as the other.
SIGNED_SUMS_HEADER = "disclosure-ledger-bundle/1 signed file list"

# Where witness cosignatures plug in: called with each checkpoint's note text, raises a
# VerificationError when the note lacks the cosignatures asked for. The default asks for none.
CosignatureCheck = Callable[[str], None]


def no_cosignatures(note: str) -> None:
    """The default CosignatureCheck: the log's own signature is all that is required."""


class BundleFilesError(VerificationError):
    """A file differs from SHA256SUMS, is missing from it, or is not listed in it."""


class BundleEntryError(VerificationError):
    """An exported entry is malformed, or its bytes do not give its leaf hash."""


class BundleProofError(VerificationError):
    """An inclusion or consistency proof does not lead to its checkpoint's root."""


class BundleCheckpointError(VerificationError):
    """A checkpoint is malformed, or not signed by any of the given keys."""


class BundleAlertsError(VerificationError):
    """An alert cites an entry the bundle does not hold."""


class BundleSchemaError(VerificationError):
    """An entry was not written with any schema the bundle ships."""


class BundleManifestError(VerificationError):
    """manifest.json is malformed or disagrees with the files."""


class BundleProfileError(VerificationError):
    """The bundle holds what its profile forbids (an entry's bytes in a public bundle)."""


class BundleSignatureError(VerificationError):
    """SHA256SUMS.note is missing, not signed by a given key, or not the files' list."""


def b64(value: object, where: str, error: type[VerificationError]) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise error(f"{where} is not valid base64.") from exc


# --- SHA256SUMS -------------------------------------------------------------------------------


def parse_sums(text: str) -> dict[str, str]:
    """``sha256sum`` output (``<hex>  <path>``) as path -> hex digest."""
    sums: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        m = _SUM_LINE.match(line)
        if m is None:
            raise BundleFilesError(f"SHA256SUMS line {number} is not '<sha256>  <file>'.")
        digest, path = m.groups()
        if path in sums:
            raise BundleFilesError(f"SHA256SUMS lists {path} twice.")
        sums[path] = digest
    return sums


def check_sums(listed: Mapping[str, str], present: Mapping[str, str]) -> None:
    """Every file present (but SHA256SUMS) is listed with its digest, and every listed file exists."""
    for path in sorted(present):
        if path not in listed:
            raise BundleFilesError(f"{path} is in the bundle but not in SHA256SUMS.")
        if present[path] != listed[path]:
            raise BundleFilesError(
                f"{path}: SHA-256 is {present[path]} but SHA256SUMS says {listed[path]}."
            )
    for path in sorted(listed):
        if path not in present:
            raise BundleFilesError(f"{path} is listed in SHA256SUMS but missing from the bundle.")


def check_signed_sums(
    note: str, verifiers: Sequence[Verifier], present: Mapping[str, str], where: str
) -> str:
    """SHA256SUMS.note is signed by a given key and lists exactly the files present with their
    digests; returns the profile it signs. Everything else in a bundle rests on this."""
    try:
        text, _ = open_note(note, list(verifiers))
    except NoteError as exc:
        raise BundleSignatureError(f"{where}: {exc}.") from exc
    lines = text.splitlines()
    if len(lines) < 2 or lines[0] != SIGNED_SUMS_HEADER or not lines[1].startswith("profile "):
        raise BundleSignatureError(f"{where} is not a signed bundle file list.")
    try:
        signed = parse_sums("\n".join(lines[2:]))
    except BundleFilesError as exc:
        raise BundleSignatureError(f"{where}: {exc}") from exc
    for path in sorted(set(present) | set(signed)):
        if path not in signed:
            raise BundleSignatureError(f"{path} is in the bundle but not in the signed {where}.")
        if path not in present:
            raise BundleSignatureError(f"{path} is signed in {where} but missing from the bundle.")
        if present[path] != signed[path]:
            raise BundleSignatureError(
                f"{path} is not the file the log key signed in {where} (it was altered after export)."
            )
    return lines[1].removeprefix("profile ")


# --- manifest ---------------------------------------------------------------------------------


def _need(ok: bool, what: str) -> None:
    if not ok:
        raise BundleManifestError(f"manifest.json: {what}.")


def check_manifest_shape(m: Mapping[str, Any]) -> None:
    """The manifest's logs, rules and counts have the types the checks read (a forger's manifest
    must fail as a manifest, not crash the verifier)."""
    logs, rules, counts = m.get("logs"), m.get("rules"), m.get("counts")
    _need(
        isinstance(logs, list) and all(isinstance(x, dict) for x in logs),
        "logs is not a list of objects",
    )
    _need(
        isinstance(rules, list) and all(isinstance(x, dict) for x in rules),
        "rules is not a list of objects",
    )
    _need(isinstance(counts, dict), "counts is not an object")
    assert isinstance(logs, list)
    for log in logs:
        _need(isinstance(log.get("log"), str), "a log has no id")
        consistency = log.get("consistency", [])
        _need(
            isinstance(consistency, list) and all(isinstance(c, str) for c in consistency),
            f"consistency of {log.get('log')} is not a list of files",
        )
    assert isinstance(rules, list)
    for rule in rules:
        _need(isinstance(rule.get("file"), str), "a rules entry names no file")


# --- checkpoints and proofs -------------------------------------------------------------------


def check_checkpoint(
    note: str,
    verifiers: Sequence[Verifier],
    where: str,
    cosignatures: CosignatureCheck = no_cosignatures,
) -> tlog.Checkpoint:
    try:
        cp = tlog.verify(note, list(verifiers))
        cosignatures(note)
    except TooFewCosignaturesError as exc:  # signed by the log, not witnessed enough
        raise TooFewCosignaturesError(f"{where}: {exc}") from exc
    except VerificationError as exc:
        raise BundleCheckpointError(f"{where}: {exc}") from exc
    return cp


def check_inclusion(
    proof: Mapping[str, Any], entry_leaf: bytes, seq: int, cp: tlog.Checkpoint, where: str
) -> None:
    """One line of a log's inclusion.jsonl against the entry it proves and the log's checkpoint."""
    if proof.get("leaf_index") != seq:
        raise BundleProofError(
            f"{where}: proof is for leaf {proof.get('leaf_index')}, the entry is leaf {seq}."
        )
    if b64(proof.get("leaf_hash"), f"{where} leaf_hash", BundleProofError) != entry_leaf:
        raise BundleProofError(f"{where}: the proof's leaf_hash differs from the entry's.")
    hashes = _proof_hashes(proof, where)
    try:
        merkle.verify_inclusion(entry_leaf, seq, cp.size, hashes, cp.root_hash)
    except merkle.ProofError as exc:
        raise BundleProofError(f"{where}: {exc}") from exc


def check_consistency(
    proof: Mapping[str, Any],
    verifiers: Sequence[Verifier],
    cp: tlog.Checkpoint,
    where: str,
    cosignatures: CosignatureCheck = no_cosignatures,
) -> tlog.Checkpoint:
    """A consistency proof from an earlier checkpoint to the bundle's; returns the earlier one."""
    if not isinstance(proof, Mapping):
        raise BundleProofError(f"{where}: not a proof object.")
    old = check_checkpoint(str(proof.get("old_checkpoint", "")), verifiers, where, cosignatures)
    if (
        str(proof.get("new_checkpoint", ""))
        and tlog.Checkpoint.parse(_body(str(proof["new_checkpoint"]), where)) != cp
    ):
        raise BundleProofError(f"{where}: new_checkpoint is not the log's checkpoint.")
    if old.origin != cp.origin:
        raise BundleProofError(f"{where}: the earlier checkpoint is of {old.origin}.")
    hashes = _proof_hashes(proof, where)
    try:
        merkle.verify_consistency(old.size, cp.size, old.root_hash, cp.root_hash, hashes)
    except merkle.ProofError as exc:
        raise BundleProofError(f"{where}: {exc}") from exc
    return old


def _proof_hashes(proof: Mapping[str, Any], where: str) -> list[bytes]:
    raw = proof.get("hashes")
    if not isinstance(raw, list):
        raise BundleProofError(f"{where}: the proof has no hashes list.")
    return [b64(h, f"{where} hashes[]", BundleProofError) for h in raw]


def _body(note: str, where: str) -> str:
    split = note.rfind("\n\n")
    if split < 0:
        raise BundleProofError(f"{where}: new_checkpoint is not a signed note.")
    return note[: split + 1]


# --- entries, alerts, profiles ----------------------------------------------------------------


def check_entry_leaf(value: bytes | None, leaf: bytes, where: str) -> None:
    """The leaf hash is SHA-256(0x00 || bytes) when the bytes are shipped."""
    if len(leaf) != 32:
        raise BundleEntryError(f"{where}: leaf_hash has {len(leaf)} bytes, not 32.")
    if value is not None and merkle.leaf_hash(value) != leaf:
        raise BundleEntryError(
            f"{where}: the message bytes hash to {merkle.leaf_hash(value).hex()}, "
            f"but its leaf hash is {leaf.hex()} (the bytes were altered)."
        )


def check_entry_profile(
    profile: str, value: bytes | None, redacted: str | None, where: str
) -> None:
    """What an entry may carry in its profile. A ``redacted_record`` is unproven text (nothing
    ties it to the leaf hash), so only a protective-order bundle may carry one, and only in place
    of bytes it withholds: anywhere else a reader could take it for the record."""
    if profile == "public":
        raise BundleProfileError(f"{where}: a public bundle holds no entries.")
    if profile == "protective-order":
        if value is not None and HEX64.search(value):
            raise BundleProfileError(
                f"{where}: a protective-order bundle ships bytes holding a 64-hex run (a ref)."
            )
        if value is None and redacted is None:
            raise BundleEntryError(f"{where}: neither bytes nor a redacted record.")
        if value is not None and redacted is not None:
            raise BundleProfileError(
                f"{where}: carries both bytes and a redacted record; only withheld bytes are "
                "replaced by one."
            )
    elif redacted is not None:
        raise BundleProfileError(
            f"{where}: a redacted_record in a {profile} bundle; only a protective-order bundle "
            "may carry one."
        )
    elif value is None:
        raise BundleProfileError(f"{where}: an auditor bundle withholds this entry's bytes.")


def check_entry_label(label: object, decoded: Mapping[str, Any] | None, where: str) -> None:
    """The entry's ``event_id`` label is the event id its record holds (the decoded bytes, or
    the redacted record standing in for them): alerts cite entries by that label."""
    found = None if decoded is None else decoded.get("event_id")
    if found is None or str(found) != str(label):
        raise BundleEntryError(
            f"{where}: labelled event {label} but its record is event {found} "
            "(the labels were changed)."
        )


def check_alert_evidence(
    alerts: Sequence[Mapping[str, Any]], exported: set[str], where: str
) -> None:
    """Every event id an alert cites is among the exported entries or the bundle's alerts (a
    finding_contested alert cites the alert it contests), and each cites one entry at least."""
    held = exported | {str(a.get("alert_id")) for a in alerts}
    for alert in alerts:
        evidence = alert.get("evidence")
        if not isinstance(evidence, list):
            raise BundleAlertsError(f"{where}: alert {alert.get('alert_id')} has no evidence list.")
        ids = [e for e in evidence if isinstance(e, str) and _UUID.match(e)]
        missing = [e for e in ids if e not in held]
        if missing or not any(e in exported for e in ids):
            raise BundleAlertsError(
                f"{where}: alert {alert.get('alert_id')} ({alert.get('rule')}) cites "
                f"{missing[0] if missing else 'no event'}, which the bundle does not hold."
            )


def evidence_ids(alerts: Sequence[Mapping[str, Any]]) -> set[str]:
    out: set[str] = set()
    for alert in alerts:
        evidence = alert.get("evidence")
        for e in evidence if isinstance(evidence, list) else []:
            if isinstance(e, str) and _UUID.match(e):
                out.add(e)
    return out


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def check_public_counts(rows: Sequence[Mapping[str, Any]], threshold: int, where: str) -> None:
    """No count in a public bundle is below the suppression threshold (suppressed ones are null)."""
    for number, row in enumerate(rows, 1):
        if not isinstance(row, Mapping):
            raise BundleProfileError(f"{where} row {number} is not an object.")
        for key in ("disclosures", "records"):
            value = row.get(key)
            if value is not None and (not isinstance(value, int) or value < threshold):
                raise BundleProfileError(
                    f"{where} row {number}: {key} {value!r} is below the threshold {threshold}."
                )
