"""`ledger emit` of a file of any size in bounded memory: every line checked, then every line sent.

Two streaming passes over the file, never the whole file in memory:

1. **Check.** The file is cut into parts of ``PART_LINES`` lines (by byte offsets, found in one
   scan that also takes the file's SHA-256). Forked workers parse, validate and encode their
   parts and write the encoded messages to a spool file per part (on disk, not in memory). One
   bad line anywhere, and nothing is sent: the errors name every bad line, in line order.
2. **Send.** The parent reads the spool files in order and sends one part at a time, learning
   for each message whether the broker acknowledged it.

A send that fails part-way says which line to resume from and keeps, beside the ledger's data,
the lines after it that were acknowledged all the same and the ``occurred_at`` the run gave
lines without one. ``--resume-from N`` skips the lines before N and those acknowledged lines, so
no line is sent twice; a line without an ``event_id`` gets one derived from the file's digest,
its line number and that ``occurred_at``, so a message whose acknowledgement was lost and that is
sent again is byte for byte the same event (a harmless redelivery, never a second disclosure).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import struct
import sys
import tempfile
import uuid
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from ledger.codec import EventCodec
from ledger.errors import EventValidationError, ServiceError
from ledger.intake import BatchValidationError, LineError, oversize_reason, parse_numbered_lines
from ledger.kafka.producer import (
    EncodedEvent,
    EventProducer,
    SentEvent,
    encode_event,
    oversized_messages,
)
from ledger.ops import workers

PART_LINES = 10_000
MAX_PROCESSES = 4
MAX_ERRORS_KEPT = 1_000  # per part; the message shows 20 and counts the rest
_BLOCK = 1 << 20
# Derived event ids live under their own namespace (a fixed, random UUID): never a real one's.
_EVENT_ID_NAMESPACE = uuid.UUID("6f1d9a52-3c0e-4f0b-9a57-2f4f6c1d8e21")


@dataclass(frozen=True)
class Part:
    start: int  # byte offset of its first line
    end: int  # byte offset just past its last newline (or the end of the file)
    first_line: int


@dataclass(frozen=True)
class ScannedFile:
    path: Path
    sha256: str
    lines: int
    parts: list[Part]


def scan(path: Path, part_lines: int = PART_LINES) -> ScannedFile:
    """The file's digest, its line count and its parts, in one streaming read."""
    digest = hashlib.sha256()
    parts: list[Part] = []
    start = offset = 0
    first_line = line = 1
    in_part = 0
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            digest.update(block)
            pos = 0
            while True:
                nl = block.find(b"\n", pos)
                if nl < 0:
                    break
                pos = nl + 1
                line += 1
                in_part += 1
                if in_part == part_lines:
                    parts.append(Part(start, offset + pos, first_line))
                    start, first_line, in_part = offset + pos, line, 0
            offset += len(block)
    if offset > start or not parts:
        parts.append(Part(start, offset, first_line))
    return ScannedFile(path, digest.hexdigest(), line, parts)


def spool_stdin(stream: BinaryIO, directory: Path) -> Path:
    """Standard input copied to a file, so both passes can read it (in bounded memory)."""
    target = directory / "stdin.jsonl"
    with target.open("wb") as out:
        shutil.copyfileobj(stream, out, _BLOCK)
    return target


def derived_defaults(sha256: str, occurred_at: str) -> Callable[[int], dict[str, Any]]:
    """What a line may leave out: the run's ``occurred_at`` and an id derived from its place."""

    def defaults(number: int) -> dict[str, Any]:
        name = f"{sha256}:{occurred_at}:{number}"
        return {"event_id": str(uuid.uuid5(_EVENT_ID_NAMESPACE, name)), "occurred_at": occurred_at}

    return defaults


# --- pass 1: check and spool ------------------------------------------------------------------

_HEAD = struct.Struct("<IHHII")  # line number, id, type, key and value lengths


def _write(out: BinaryIO, number: int, m: EncodedEvent) -> None:
    event_id, event_type = m.event_id.encode(), m.event_type.encode()
    out.write(_HEAD.pack(number, len(event_id), len(event_type), len(m.key), len(m.value)))
    out.write(event_id + event_type + m.key + m.value)


def read_spool(path: Path) -> Iterator[tuple[int, EncodedEvent]]:
    with path.open("rb") as f:
        while head := f.read(_HEAD.size):
            number, n_id, n_type, n_key, n_value = _HEAD.unpack(head)
            body = f.read(n_id + n_type + n_key + n_value)
            a, b, c = n_id, n_id + n_type, n_id + n_type + n_key
            yield number, EncodedEvent(body[:a].decode(), body[a:b].decode(), body[b:c], body[c:])


@dataclass
class PartResult:
    events: int = 0
    errors: list[LineError] = field(default_factory=list)
    error_count: int = 0
    large: list[tuple[int, int]] = field(default_factory=list)  # (line, size) over LARGE_FROM
    ids: bytes = b""  # each message's event id (16 bytes) and line number (4), for check_ids


# Messages at least this large are listed by line, to be held against the topic's limit once the
# broker is asked (after the check, so a bad file is refused even with no broker around).
LARGE_FROM = 64 * 1024


def _part_lines(path: Path, part: Part) -> list[str]:
    with path.open("rb") as f:
        f.seek(part.start)
        data = f.read(part.end - part.start)
    # Lines end at \n only (str.splitlines would also split inside a JSON string at U+2028);
    # bytes that are not UTF-8 become lone surrogates, which validation names by line and field.
    lines = data.decode("utf-8", errors="surrogateescape").split("\n")
    if data.endswith(b"\n"):
        lines.pop()  # the part's last newline ends its last line; it starts none
    return lines


def check_part(
    scanned: ScannedFile, index: int, allowed: Collection[str], occurred_at: str, spool: Path
) -> PartResult:
    """Validates and encodes one part, writing its messages to ``spool`` (a worker's job)."""
    part = scanned.parts[index]
    lines = _part_lines(scanned.path, part)
    try:
        numbered = parse_numbered_lines(
            lines,
            allowed_types=allowed,
            first_line=part.first_line,
            defaults=derived_defaults(scanned.sha256, occurred_at),
        )
    except BatchValidationError as exc:
        return PartResult(0, exc.errors[:MAX_ERRORS_KEPT], len(exc.errors))
    codec = EventCodec()
    result = PartResult()
    ids = bytearray()
    with spool.open("wb") as out:
        for number, event in numbered:
            ids += uuid.UUID(event.event_id).bytes + number.to_bytes(4, "big")
            try:
                m = encode_event(codec, event)
            except EventValidationError as exc:
                result.errors.append(LineError(number, str(exc)))
                continue
            _write(out, number, m)
            if len(m.value) + len(m.key) >= LARGE_FROM:
                [(_, size)] = oversized_messages([m], 0)
                result.large.append((number, size))
    result.error_count = len(result.errors)
    del result.errors[MAX_ERRORS_KEPT:]
    result.events = len(numbered)
    result.ids = bytes(ids)
    workers.report(len(lines))
    return result


@dataclass
class CheckedFile:
    events: int
    large: list[tuple[int, int]]  # (line, encoded size) of the largest messages
    ids: bytes = b""  # every message's event id and line number (PartResult.ids), in file order


def check_file(
    scanned: ScannedFile,
    allowed: Collection[str],
    occurred_at: str,
    spool_dir: Path,
    progress: Callable[[int], None] | None = None,
) -> CheckedFile:
    """Pass 1: every line checked and spooled, or BatchValidationError naming every bad line."""
    calls = [
        (scanned, i, allowed, occurred_at, spool_dir / f"part-{i:06d}")
        for i in range(len(scanned.parts))
    ]
    processes = max(1, min(os.cpu_count() or 1, MAX_PROCESSES, len(calls)))
    if processes == 1:
        results = [check_part(*c) for c in calls]
    else:
        results = workers.in_processes(check_part, calls, processes, progress)
    errors = [e for r in results for e in r.errors]
    if errors:
        hidden = sum(r.error_count - len(r.errors) for r in results)
        raise BatchValidationError(errors, more=hidden)
    return CheckedFile(
        sum(r.events for r in results),
        [x for r in results for x in r.large],
        b"".join(r.ids for r in results),
    )


_ID_RECORD = 20  # 16 bytes of event id, 4 of line number
TAKEN_CHUNK = 50_000  # event ids asked about per query


class TakenIdError(EventValidationError):
    """An event id the file repeats or the ledger already holds: sent, it could only be a
    redelivery or a conflicting reuse, never a new event (docs/dup.md)."""


def check_ids(
    ids: bytes,
    taken: Callable[[list[str]], dict[str, str]],
    sent: Callable[[int], bool] = lambda line: False,
) -> None:
    """Refuses an id repeated in the file or already in the ledger (``taken`` answers where),
    leaving out the lines ``sent`` says a run being resumed sent already.

    Sorted as 20-byte records, so a file of millions of lines needs no dictionary of them.
    """
    records = sorted(
        r
        for r in (ids[i : i + _ID_RECORD] for i in range(0, len(ids), _ID_RECORD))
        if not sent(int.from_bytes(r[16:], "big"))
    )
    for a, b in itertools.pairwise(records):
        if a[:16] == b[:16]:
            first, again = int.from_bytes(a[16:], "big"), int.from_bytes(b[16:], "big")
            raise TakenIdError(
                f"line {again}: event id {uuid.UUID(bytes=b[:16])} is also on line {first};"
                " nothing was sent."
            )
    found: dict[str, tuple[int, str]] = {}
    for start in range(0, len(records), TAKEN_CHUNK):
        chunk = {
            str(uuid.UUID(bytes=r[:16])): int.from_bytes(r[16:], "big")
            for r in records[start : start + TAKEN_CHUNK]
        }
        for event_id, where in taken(list(chunk)).items():
            found[event_id] = (chunk[event_id], where)
    if found:
        event_id, (line, where) = min(found.items(), key=lambda item: item[1][0])
        more = f" (and {len(found) - 1} more line(s))" if len(found) > 1 else ""
        raise TakenIdError(
            f"line {line}: event id {event_id} is already in the ledger at {where}{more};"
            " leave event_id out to get a new one. Nothing was sent."
        )


def refuse_oversized(
    scanned: ScannedFile, checked: CheckedFile, occurred_at: str, limit: int
) -> None:
    """BatchValidationError naming each line too large for one message on the topic."""
    over = [(n, size) for n, size in checked.large if size > limit]
    if not over:
        return
    errors = []
    defaults = derived_defaults(scanned.sha256, occurred_at)
    for number, size in over:  # rare: read those lines again for the largest field
        part = next(p for p in reversed(scanned.parts) if p.first_line <= number)
        line = _part_lines(scanned.path, part)[number - part.first_line]
        [(_, event)] = parse_numbered_lines([line], first_line=number, defaults=defaults)
        errors.append(LineError(number, oversize_reason(event, size, limit)))
    raise BatchValidationError(errors)


# --- pass 2: send, resumably ------------------------------------------------------------------


@dataclass
class ResumeState:
    """What a failed send leaves for ``--resume-from``: kept under the data directory."""

    sha256: str
    occurred_at: str
    resume_from: int
    acknowledged_after: list[int]

    @staticmethod
    def path(data_dir: Path, sha256: str) -> Path:
        return data_dir / "emit" / f"{sha256}.json"

    def save(self, data_dir: Path) -> None:
        target = self.path(data_dir, self.sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.__dict__))

    @classmethod
    def load(cls, data_dir: Path, sha256: str) -> ResumeState | None:
        target = cls.path(data_dir, sha256)
        if not target.is_file():
            return None
        try:
            return cls(**json.loads(target.read_text()))
        except (ValueError, TypeError):
            return None


class SendInterruptedError(ServiceError):
    """Kafka stopped acknowledging part-way; ``state.resume_from`` is the first line not sent."""

    def __init__(self, state: ResumeState, sent: int, reason: str) -> None:
        self.state = state
        resume_from = state.resume_from
        super().__init__(
            f"Kafka did not acknowledge line {resume_from} ({reason}); {sent} event(s) before "
            f"it were sent. Run the same command with --resume-from {resume_from} to send the "
            "rest: no line is sent twice."
        )


def send_file(
    producer: EventProducer,
    scanned: ScannedFile,
    spool_dir: Path,
    *,
    skip_before: int = 1,
    skip: Collection[int] = (),
    on_sent: Callable[[SentEvent], None] | None = None,
) -> int:
    """Pass 2: sends every spooled message from ``skip_before`` on (and not in ``skip``).

    Returns the number sent. When the broker stops acknowledging, raises SendInterruptedError with
    ``state``: the first line not acknowledged and the lines after it that were (its
    ``occurred_at`` is for the caller to fill in).
    """
    sent = 0
    for i in range(len(scanned.parts)):
        batch = [
            (n, m)
            for n, m in read_spool(spool_dir / f"part-{i:06d}")
            if n >= skip_before and n not in skip
        ]
        if not batch:
            continue
        results = producer.send_each([m for _, m in batch])
        acknowledged = []
        failures: list[tuple[int, str]] = []
        for (n, _), r in zip(batch, results, strict=True):
            if isinstance(r, SentEvent):
                acknowledged.append(n)
                sent += 1
                if on_sent is not None:
                    on_sent(r)
            else:
                failures.append((n, str(r) or type(r).__name__))
        if failures:
            first, reason = failures[0]
            after = {n for n in acknowledged if n > first} | {n for n in skip if n > first}
            state = ResumeState(scanned.sha256, "", first, sorted(after))
            raise SendInterruptedError(state, sent, reason)
    return sent


def now_text() -> str:
    return datetime.now(UTC).isoformat()


def temporary_spool() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="ledger-emit-")


def write_json_array_item(first: bool, item: dict[str, Any]) -> None:
    sys.stdout.write(("[\n" if first else ",\n") + json.dumps(item))
