"""C2SP tlog-proof@v1 (``.tlog-proof`` files): one entry's inclusion proof with its signed and
cosigned checkpoint, in the text form torchwood's ``VerifyProof`` reads.

Spec: https://github.com/C2SP/C2SP/blob/main/tlog-proof.md::

    c2sp.org/tlog-proof@v1
    extra <base64>        (optional, unauthenticated)
    index <decimal>
    <base64 hash>         (zero or more: the RFC 6962 audit path, leaf's sibling first)
    <empty line>
    <the signed checkpoint, verbatim>

The ledger puts the entry's message bytes in ``extra`` when the proof may show them (the
record hash is then SHA-256(0x00 || extra)); a verifier never trusts them without the proof.
Parsing follows the spec, so it is a little stricter than torchwood's on the index line (no
sign, no leading zeros); a file this module writes is one torchwood reads.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from ledger.errors import VerificationError
from ledger.tlog.checkpoint import Checkpoint, CheckpointError

HEADER = "c2sp.org/tlog-proof@v1"
SUFFIX = ".tlog-proof"
_INDEX = re.compile(r"^(0|[1-9][0-9]*)$")


class TlogProofError(VerificationError):
    """A file is not a well-formed c2sp.org/tlog-proof@v1 proof."""


@dataclass(frozen=True)
class TlogProof:
    index: int
    hashes: tuple[bytes, ...]
    checkpoint: str  # the signed note, verbatim
    extra: bytes | None = None

    def to_text(self) -> str:
        lines = [HEADER]
        if self.extra is not None:
            lines.append("extra " + base64.b64encode(self.extra).decode("ascii"))
        lines.append(f"index {self.index}")
        lines += [base64.b64encode(h).decode("ascii") for h in self.hashes]
        return "\n".join(lines) + "\n\n" + self.checkpoint


def is_tlog_proof(text: str) -> bool:
    return text.startswith(HEADER + "\n")


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise TlogProofError(f"The tlog-proof's {what} is not valid base64.") from exc


def parse(text: str) -> TlogProof:
    """The proof in ``text``; raises TlogProofError naming the first thing that is wrong."""
    if not is_tlog_proof(text):
        raise TlogProofError(f"The file does not start with the line {HEADER!r}.")
    rest = text[len(HEADER) + 1 :]
    extra = None
    if rest.startswith("extra "):
        line, sep, rest = rest[len("extra ") :].partition("\n")
        if not sep:
            raise TlogProofError("The tlog-proof ends inside its extra line.")
        extra = _b64(line, "extra data")
    if not rest.startswith("index "):
        raise TlogProofError("The tlog-proof has no index line where one is required.")
    line, sep, rest = rest[len("index ") :].partition("\n")
    if not sep or not _INDEX.match(line) or int(line) >= 1 << 63:
        raise TlogProofError(f"The tlog-proof's index {line!r} is not a decimal entry index.")
    index = int(line)
    hashes: list[bytes] = []
    while True:
        line, sep, rest = rest.partition("\n")
        if not sep:
            raise TlogProofError("The tlog-proof ends before the empty line above its checkpoint.")
        if not line:
            break
        h = _b64(line, f"hash {len(hashes) + 1}")
        if len(h) != 32:
            raise TlogProofError(f"The tlog-proof's hash {len(hashes) + 1} is not 32 bytes.")
        hashes.append(h)
    return TlogProof(index, tuple(hashes), rest, extra)


def from_inclusion_json(proof: dict[str, Any]) -> TlogProof:
    """The tlog-proof form of an inclusion proof in the ledger's JSON (``ledger proof
    inclusion``): its message bytes go in ``extra`` unless the JSON withheld them."""
    value = proof.get("value")
    return TlogProof(
        index=int(proof["leaf_index"]),
        hashes=tuple(base64.b64decode(h) for h in proof["hashes"]),
        checkpoint=str(proof["checkpoint"]),
        extra=None if value is None else base64.b64decode(value),
    )


def to_inclusion_json(proof: TlogProof, leaf_hash: bytes | None = None) -> dict[str, Any]:
    """The ledger's JSON form, so one verifier checks both. The tree size is read from the
    checkpoint body (verification then checks its signature); the leaf hash is SHA-256(0x00 ||
    extra), or ``leaf_hash`` when the file carries no extra data."""
    from ledger.tlog.merkle import leaf_hash as rfc6962_leaf

    body, sep, _ = proof.checkpoint.partition("\n\n")
    try:
        size = Checkpoint.parse(body + "\n").size if sep else -1
    except CheckpointError as exc:
        raise TlogProofError(f"The tlog-proof's checkpoint is malformed: {exc}") from exc
    if size < 0:
        raise TlogProofError("The tlog-proof's checkpoint has no signature lines.")
    out: dict[str, Any] = {
        "leaf_index": proof.index,
        "tree_size": size,
        "hashes": [base64.b64encode(h).decode("ascii") for h in proof.hashes],
        "checkpoint": proof.checkpoint,
    }
    if proof.extra is not None:
        out["value"] = base64.b64encode(proof.extra).decode("ascii")
        leaf_hash = rfc6962_leaf(proof.extra)
    if leaf_hash is None:
        raise TlogProofError(
            "The tlog-proof carries no entry bytes (extra); give the entry with --entry FILE."
        )
    out["leaf_hash"] = base64.b64encode(leaf_hash).decode("ascii")
    return out
