"""C2SP tlog-witness add-checkpoint: the request body, and the checks a witness makes, in order.

Spec: https://github.com/C2SP/C2SP/blob/main/tlog-witness.md. The body is ``old <size>``, up to
63 base64 consistency-proof lines, a blank line, then the signed checkpoint. Each reason the
spec gives for refusing is its own error class (the witness server answers each as the spec
says, ledger/witness/statuses.py). Only one refusal is evidence of a forked log, and says so in
``fork``: two validly signed checkpoints of the same size with different roots. A consistency
proof that fails shows only that the proof is wrong: anyone can send a garbage proof with a
public checkpoint, so it is refused and never kept as evidence.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from ledger.errors import LedgerError
from ledger.tlog import merkle
from ledger.tlog.checkpoint import Checkpoint

MAX_PROOF_LINES = 63
_OLD = re.compile(r"^old (0|[1-9][0-9]*)$")


class WitnessRefusalError(LedgerError):
    """The witness does not cosign; the subclass names the spec's reason."""

    fork = False  # True when the refusal is itself evidence that the log forked


class MalformedRequestError(WitnessRefusalError):
    """The request (or the witness's answer) is not in the spec's shape."""


class UnknownLogError(WitnessRefusalError):
    """The witness does not follow the checkpoint's log."""


class UntrustedSignatureError(WitnessRefusalError):
    """The checkpoint is not signed by a key the witness trusts for its log."""


class StaleOldSizeError(WitnessRefusalError):
    """The client's old size is not the witness's latest; the body tells it the right one."""

    def __init__(self, message: str, known_size: int) -> None:
        super().__init__(message)
        self.known_size = known_size


class ForkedRootError(WitnessRefusalError):
    """Same size as the witness's latest checkpoint, another root: a fork."""

    fork = True


class InconsistentProofError(WitnessRefusalError):
    """The consistency proof from the witness's latest checkpoint does not verify: a bad
    request, not evidence (a fork needs two signed checkpoints that cannot both hold)."""


@dataclass(frozen=True)
class AddCheckpoint:
    old_size: int
    proof: list[bytes]
    note: str

    def to_bytes(self) -> bytes:
        lines = [f"old {self.old_size}"] + [base64.b64encode(h).decode() for h in self.proof]
        return ("\n".join(lines) + "\n\n" + self.note).encode()

    @classmethod
    def parse(cls, body: bytes) -> AddCheckpoint:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedRequestError("the request body is not UTF-8") from None
        head, sep, note = text.partition("\n\n")
        if not sep:
            raise MalformedRequestError("no blank line between the old size and the checkpoint")
        lines = head.split("\n")
        match = _OLD.match(lines[0])
        if match is None:
            raise MalformedRequestError("the first line must be 'old <size>' (decimal)")
        if len(lines) - 1 > MAX_PROOF_LINES:
            raise MalformedRequestError(f"more than {MAX_PROOF_LINES} consistency proof lines")
        proof = []
        for line in lines[1:]:
            try:
                digest = base64.b64decode(line, validate=True)
            except (binascii.Error, ValueError):
                raise MalformedRequestError("a consistency proof line is not base64") from None
            if len(digest) != 32:
                raise MalformedRequestError("a consistency proof line is not a 32-byte hash")
            proof.append(digest)
        return cls(int(match.group(1)), proof, note)


@dataclass(frozen=True)
class Known:
    """The latest checkpoint a witness cosigned for one origin."""

    size: int
    root_hash: bytes


def check_add(known: Known | None, request: AddCheckpoint, checkpoint: Checkpoint) -> None:
    """The tlog-witness checks after the signature: sizes, then consistency. Raises a refusal."""
    known_size = 0 if known is None else known.size
    if request.old_size > checkpoint.size:
        raise MalformedRequestError(
            f"old size {request.old_size} is larger than the checkpoint's size {checkpoint.size}"
        )
    if request.old_size != known_size:
        raise StaleOldSizeError(
            f"old size {request.old_size} is not this witness's latest size {known_size}",
            known_size,
        )
    if known is None or known.size == 0:
        if request.proof:
            raise InconsistentProofError("a proof from size 0 must be empty")
        return
    if known.size == checkpoint.size:
        if known.root_hash != checkpoint.root_hash:
            raise ForkedRootError(
                f"fork: this witness cosigned size {known.size} with root "
                f"{base64.b64encode(known.root_hash).decode()}, and this checkpoint has the same "
                f"size with root {base64.b64encode(checkpoint.root_hash).decode()}"
            )
        if request.proof:
            raise InconsistentProofError("a proof between equal sizes must be empty")
        return
    try:
        merkle.verify_consistency(
            known.size, checkpoint.size, known.root_hash, checkpoint.root_hash, request.proof
        )
    except merkle.ProofError as exc:
        raise InconsistentProofError(
            f"the consistency proof from size {known.size} to {checkpoint.size} fails: {exc}"
        ) from None


def parse_size_body(body: str) -> int:
    """The body of the witness's answer to a stale old size: its latest size and a newline."""
    text = body.strip()
    if not re.fullmatch(r"0|[1-9][0-9]*", text):
        raise MalformedRequestError("the witness's answer to a stale old size is not a tree size")
    return int(text)
