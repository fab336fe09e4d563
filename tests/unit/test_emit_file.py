"""`ledger emit`'s streaming check of a file: parts cut by byte offset, checked in workers.

Whatever the part size, the same messages (bytes, keys, ids, line numbers) in file order as one
``parse_numbered_lines`` over the whole file, and for bad lines the same errors, line for line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.codec import EventCodec
from ledger.intake import EMIT_EVENT_TYPES, BatchValidationError, parse_numbered_lines
from ledger.kafka.producer import EncodedEvent
from ledger.ops import emit_file
from tests.unit.fuzz import fuzz_settings
from tests.unit.test_intake import disclosure

WHEN = "2025-08-07T19:12:00+00:00"


def lines_of(n: int, bad: dict[int, dict[str, Any]] | None = None) -> list[str]:
    """``n`` lines (1-based numbers in ``bad`` get those overrides), with a blank line in between."""
    out = []
    for i in range(1, n + 1):
        fields = {"disclosure_id": f"D-{i}", "recipient_agency": f"R{i % 5}"}
        out.append(json.dumps(disclosure(**fields, **(bad or {}).get(i, {}))))
    out[n // 2] = "   "  # blank lines are skipped, and numbers still count them
    return out


def write(tmp_path: Path, lines: list[str], final_newline: bool = True) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + ("\n" if final_newline else ""))
    return path


def spooled(scanned: emit_file.ScannedFile, spool: Path) -> list[tuple[int, EncodedEvent]]:
    return [
        x for i in range(len(scanned.parts)) for x in emit_file.read_spool(spool / f"part-{i:06d}")
    ]


def expected(path: Path, sha256: str) -> list[tuple[int, EncodedEvent]]:
    codec = EventCodec()
    lines = path.read_text().split("\n")
    numbered = parse_numbered_lines(
        lines,
        allowed_types=EMIT_EVENT_TYPES,
        defaults=emit_file.derived_defaults(sha256, WHEN),
    )
    return [
        (n, EncodedEvent(e.event_id, e.event_type, e.key.encode(), codec.encode(e)))
        for n, e in numbered
    ]


@pytest.mark.parametrize("part_lines", [1, 7, 10_000])
@pytest.mark.parametrize("final_newline", [True, False])
def test_parts_in_workers_give_what_one_pass_over_the_file_gives(
    tmp_path: Path, part_lines: int, final_newline: bool
) -> None:
    path = write(tmp_path, lines_of(40), final_newline)
    scanned = emit_file.scan(path, part_lines)
    spool = tmp_path / "spool"
    spool.mkdir()
    checked = emit_file.check_file(scanned, EMIT_EVENT_TYPES, WHEN, spool)
    assert checked.events == 39
    assert spooled(scanned, spool) == expected(path, scanned.sha256)


def test_bad_lines_in_several_parts_are_all_named_in_line_order(tmp_path: Path) -> None:
    bad = {3: {"record_count": -1}, 16: {"purpose": "x\x00"}, 33: {"type": "AlertRaised"}}
    path = write(tmp_path, lines_of(40, bad))
    with pytest.raises(BatchValidationError) as one:
        parse_numbered_lines(path.read_text().split("\n"), allowed_types=EMIT_EVENT_TYPES)
    with pytest.raises(BatchValidationError) as parts:
        emit_file.check_file(emit_file.scan(path, 7), EMIT_EVENT_TYPES, WHEN, tmp_path)
    assert [e.line for e in parts.value.errors] == [3, 16, 33]
    assert str(parts.value) == str(one.value)


def test_lines_without_an_id_get_the_same_id_again_only_with_the_same_occurred_at(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, lines_of(5))
    sha = emit_file.scan(path).sha256
    first = emit_file.derived_defaults(sha, WHEN)
    assert first(3) == emit_file.derived_defaults(sha, WHEN)(3)  # a resumed run: same event
    assert first(3)["event_id"] != first(4)["event_id"]
    assert (
        first(3)["event_id"]
        != emit_file.derived_defaults(sha, "2026-01-01T00:00:00+00:00")(3)["event_id"]
    )  # a new run of the same file: new events


@fuzz_settings(200)
@given(
    data=st.lists(st.sampled_from([b"a", b"\n", b"{}", b"\xff", b"\r"]), max_size=200),
    part_lines=st.integers(1, 9),
)
def test_the_parts_cover_the_file_exactly_and_number_its_lines(
    tmp_path_factory: pytest.TempPathFactory, data: list[bytes], part_lines: int
) -> None:
    path = tmp_path_factory.mktemp("scan") / "f"
    content = b"".join(data)
    path.write_bytes(content)
    scanned = emit_file.scan(path, part_lines)
    assert scanned.parts[0].start == 0
    assert scanned.parts[-1].end == len(content)
    for a, b in zip(scanned.parts, scanned.parts[1:], strict=False):
        assert a.end == b.start
        assert b.first_line == a.first_line + content[a.start : a.end].count(b"\n")
    lines = [
        (p.first_line + i, line)
        for p in scanned.parts
        for i, line in enumerate(emit_file._part_lines(path, p))
    ]
    whole = content.decode("utf-8", errors="surrogateescape").split("\n")
    if content.endswith(b"\n"):
        whole.pop()
    assert lines == list(enumerate(whole, start=1))


class StoppingProducer:
    """A stand-in for the producer's per-message results: the broker acknowledges every message
    except those at the given line numbers (pure bookkeeping; the real send is tested against
    Kafka in tests/integration/test_emit_resume.py)."""

    def __init__(self, numbers: list[int], failing: set[int]) -> None:
        self.numbers, self.failing, self.sent = iter(numbers), failing, []

    def send_each(self, messages: list[EncodedEvent]) -> list[object]:
        from kafka.errors import KafkaTimeoutError

        from ledger.kafka.producer import SentEvent

        out: list[object] = []
        for m in messages:
            n = next(self.numbers)
            if n in self.failing:
                out.append(KafkaTimeoutError("no acknowledgement"))
            else:
                self.sent.append(n)
                out.append(SentEvent(m.event_id, m.event_type, "t", 0, n))
        return out


def test_a_send_stopped_part_way_names_the_line_and_the_acknowledged_lines_after_it(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, lines_of(12))  # line 7 is blank
    scanned = emit_file.scan(path, 5)
    emit_file.check_file(scanned, EMIT_EVENT_TYPES, WHEN, tmp_path)
    numbers = [n for n, _ in spooled(scanned, tmp_path)]
    producer = StoppingProducer(numbers, {8})
    with pytest.raises(emit_file.SendInterruptedError) as stopped:
        emit_file.send_file(producer, scanned, tmp_path)  # type: ignore[arg-type]
    state = stopped.value.state
    assert state.resume_from == 8
    assert state.acknowledged_after == [9, 10]  # the rest of line 8's part; no later part sent
    assert "--resume-from 8" in str(stopped.value)
    resumed = StoppingProducer([8, 11, 12], set())
    sent = emit_file.send_file(
        resumed,  # type: ignore[arg-type]
        scanned,
        tmp_path,
        skip_before=state.resume_from,
        skip=state.acknowledged_after,
    )
    assert sent == 3
    assert sorted(producer.sent + resumed.sent) == [n for n in numbers]  # each line once
