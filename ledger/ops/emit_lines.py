"""`ledger emit`'s work before the first send: every line parsed, validated and encoded.

Parsing and validating a JSON line costs about four times what sending it does, all of it
CPU-bound Python, so a large file is cut into parts that forked worker processes prepare at
once (one per core); the parent sends. Nothing is sent until every part is done: one bad line
anywhere and the whole file is refused, with the same per-line errors, in line order, as when
one process reads it all.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence

from ledger.codec import EventCodec
from ledger.errors import EventValidationError
from ledger.intake import BatchValidationError, LineError, parse_numbered_lines
from ledger.kafka.producer import GC_PAUSE_FROM, EncodedEvent, encode_event, gc_paused
from ledger.ops import workers

# Below this many lines forking costs more than it saves (a fork and a pickled result per part).
PARALLEL_FROM_LINES = 4_000
PART_LINES = 10_000
MAX_PROCESSES = 4

# A part's result: its line numbers and messages as columns (cheap to pickle back), its line
# errors, or the error of an event that passed validation yet did not encode.
_Columns = tuple[list[int], list[str], list[str], list[bytes], list[bytes]]
_PartResult = _Columns | list[LineError] | EventValidationError


def _prepare_part(lines: Sequence[str], first_line: int, allowed: Collection[str]) -> _PartResult:
    with gc_paused(len(lines) >= GC_PAUSE_FROM):  # every event stays alive until the send
        return _prepare(lines, first_line, allowed)


def _prepare(lines: Sequence[str], first_line: int, allowed: Collection[str]) -> _PartResult:
    try:
        numbered = parse_numbered_lines(lines, allowed_types=allowed, first_line=first_line)
    except BatchValidationError as exc:
        return exc.errors
    codec = EventCodec()
    columns: _Columns = ([], [], [], [], [])
    numbers, ids, types, keys, values = columns
    try:
        for number, event in numbered:
            event_id, event_type, key, value = encode_event(codec, event)
            numbers.append(number)
            ids.append(event_id)
            types.append(event_type)
            keys.append(key)
            values.append(value)
    except EventValidationError as exc:
        return exc
    return columns


def _processes(lines: int) -> int:
    if lines < PARALLEL_FROM_LINES:
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_PROCESSES))


def prepare_lines(
    lines: Sequence[str], allowed: Collection[str]
) -> tuple[list[int], list[EncodedEvent]]:
    """The line number and encoded event of every non-blank line, in file order.

    Raises BatchValidationError naming every bad line (exactly as ``parse_numbered_lines`` on
    the whole file would), or the EventValidationError of an event that does not encode. Forks:
    the caller must hold no open connection or Kafka client.
    """
    processes = _processes(len(lines))
    if processes == 1:
        results = [_prepare_part(lines, 1, allowed)]
    else:
        size = min(PART_LINES, -(-len(lines) // processes))  # every worker gets a part
        parts = [
            (lines[start : start + size], start + 1, allowed)
            for start in range(0, len(lines), size)
        ]
        results = workers.in_processes(_prepare_part, parts, processes)
    errors = [e for r in results if isinstance(r, list) for e in r]
    if errors:
        raise BatchValidationError(errors)
    for r in results:
        if isinstance(r, EventValidationError):
            raise r
    numbers: list[int] = []
    messages: list[EncodedEvent] = []
    with gc_paused(len(lines) >= GC_PAUSE_FROM):
        for r in results:
            assert isinstance(r, tuple)
            part_numbers, ids, types, keys, values = r
            numbers += part_numbers
            messages += map(EncodedEvent, ids, types, keys, values)
    return numbers, messages
