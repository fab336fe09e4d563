"""`ledger emit`'s preparation of a file: in worker processes, exactly what one process gives.

Same messages (bytes, keys, ids, line numbers) in file order, and for bad lines the same
BatchValidationError, line for line, as ``parse_numbered_lines`` on the whole file.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kafka.partitioner import DefaultPartitioner

from ledger.codec import EventCodec
from ledger.intake import (
    _NOT_SCANNED,
    EMIT_EVENT_TYPES,
    BatchValidationError,
    _free_texts,
    _joined_free_text,
    parse_numbered_lines,
)
from ledger.intake_values import parse_uuid
from ledger.kafka import producer
from ledger.kafka.producer import _SIZE_SLACK, EncodedEvent, _KeyPartitioner, message_size
from ledger.ops import emit_lines
from tests.unit.fuzz import fuzz_settings
from tests.unit.test_intake import disclosure


def lines_of(n: int, bad: dict[int, dict[str, Any]] | None = None) -> list[str]:
    """``n`` lines (1-based numbers in ``bad`` get those overrides), with a blank line in between."""
    out = []
    for i in range(1, n + 1):
        fields = {"disclosure_id": f"D-{i}", "recipient_agency": f"R{i % 5}"}
        out.append(json.dumps(disclosure(**fields, **(bad or {}).get(i, {}))))
    out[n // 2] = "   "  # blank lines are skipped, and numbers still count them
    return [*out, ""]


def expected(lines: list[str]) -> tuple[list[int], list[EncodedEvent]]:
    codec = EventCodec()
    numbered = parse_numbered_lines(lines, allowed_types=EMIT_EVENT_TYPES)
    return [n for n, _ in numbered], [
        EncodedEvent(e.event_id, e.event_type, e.key.encode(), codec.encode(e)) for _, e in numbered
    ]


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parts of 7 lines in 2 processes, so a short file crosses several part boundaries."""
    monkeypatch.setattr(emit_lines, "PART_LINES", 7)
    monkeypatch.setattr(emit_lines, "PARALLEL_FROM_LINES", 10)


def with_ids(lines: list[str]) -> list[str]:
    # Given ids and times, so the in-process and the worker encodings can be compared byte for byte.
    out = []
    for i, line in enumerate(lines):
        if line.strip():
            obj = json.loads(line)
            obj["event_id"] = f"00000000-0000-4000-8000-{i:012d}"
            obj["occurred_at"] = "2025-08-07T19:12:00Z"
            line = json.dumps(obj)
        out.append(line)
    return out


def test_workers_give_the_messages_one_process_gives_in_file_order(small_parts: None) -> None:
    lines = with_ids(lines_of(40))
    assert emit_lines._processes(len(lines)) > 1
    assert emit_lines.prepare_lines(lines, EMIT_EVENT_TYPES) == expected(lines)


def test_bad_lines_in_several_parts_are_all_named_in_line_order(small_parts: None) -> None:
    bad = {3: {"record_count": -1}, 16: {"purpose": "x\x00"}, 33: {"type": "AlertRaised"}}
    lines = lines_of(40, bad)
    with pytest.raises(BatchValidationError) as one:
        parse_numbered_lines(lines, allowed_types=EMIT_EVENT_TYPES)
    with pytest.raises(BatchValidationError) as parts:
        emit_lines.prepare_lines(lines, EMIT_EVENT_TYPES)
    assert [e.line for e in parts.value.errors] == [3, 16, 33]
    assert str(parts.value) == str(one.value)


def test_a_file_under_one_part_is_still_shared_by_the_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(emit_lines, "PARALLEL_FROM_LINES", 10)
    monkeypatch.setattr(emit_lines.os, "cpu_count", lambda: 2)
    seen: list[int] = []
    real = emit_lines.workers.in_processes

    def spy(fn: Any, calls: Any, workers: int) -> Any:
        seen.extend(len(call[0]) for call in calls)
        return real(fn, calls, workers)

    monkeypatch.setattr(emit_lines.workers, "in_processes", spy)
    lines = with_ids(lines_of(40))  # 41 lines with the final empty one: far under PART_LINES
    assert emit_lines.prepare_lines(lines, EMIT_EVENT_TYPES) == expected(lines)
    assert seen == [21, 20]


def test_a_small_file_is_prepared_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork(*args: object) -> None:
        raise AssertionError("forked for a small file")

    monkeypatch.setattr(emit_lines.workers, "in_processes", no_fork)
    lines = with_ids(lines_of(5))
    assert emit_lines.prepare_lines(lines, EMIT_EVENT_TYPES) == expected(lines)


class Cluster:
    """The three questions kafka-python's DefaultPartitioner asks of cluster metadata."""

    def __init__(self, topic: str, partitions: int) -> None:
        self.topic, self.partitions = topic, set(range(partitions))

    def topics(self) -> set[str]:
        return {self.topic}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return set(self.partitions)

    available_partitions_for_topic = partitions_for_topic


def cluster_with(topic: str, partitions: int) -> Cluster:
    return Cluster(topic, partitions)


@fuzz_settings(200)
@given(key=st.binary(min_size=1, max_size=40), partitions=st.integers(1, 12))
def test_the_remembered_partition_is_the_default_partitioners(key: bytes, partitions: int) -> None:
    cluster = cluster_with("t", partitions)
    mine = _KeyPartitioner()
    default = DefaultPartitioner().partition("t", key, key, None, None, cluster)
    assert mine.partition("t", key, key, None, None, cluster) == default
    assert mine.partition("t", key, key, None, None, cluster) == default  # remembered


def test_a_partition_count_change_is_seen_after_forget() -> None:
    mine = _KeyPartitioner()
    keys = [f"agency {i}".encode() for i in range(50)]
    before = [mine.partition("t", k, k, None, None, cluster_with("t", 3)) for k in keys]
    mine.forget()
    grown = cluster_with("t", 7)
    after = [mine.partition("t", k, k, None, None, grown) for k in keys]
    assert before != after
    assert after == [DefaultPartitioner().partition("t", k, k, None, None, grown) for k in keys]


@fuzz_settings(300)
@given(
    key=st.binary(max_size=300),
    value=st.binary(max_size=70_000),
    event_type=st.text(st.characters(min_codepoint=65, max_codepoint=90), max_size=64),
)
def test_the_quick_size_bound_is_never_below_the_exact_estimate(
    key: bytes, value: bytes, event_type: str
) -> None:
    exact = message_size(value, key, [("event_type", event_type.encode("ascii"))])
    assert exact <= len(value) + len(key) + len(event_type) + _SIZE_SLACK


def test_the_size_check_still_names_an_event_just_over_the_limit() -> None:
    ep = producer.EventProducer.__new__(producer.EventProducer)
    ep.max_request_size, ep._headers = 10_000, {}
    value = bytes(10_000 - 100)  # under the limit, but with the batch overhead over it
    with pytest.raises(producer.OversizedEventsError) as exc:
        ep.send_encoded([EncodedEvent("id", "DisclosureRecorded", b"ICE", value)])
    ((index, size),) = exc.value.oversized
    assert index == 0
    assert size > 10_000


texts = st.one_of(st.text(max_size=12), st.integers(), st.none())
values = st.one_of(
    texts, st.lists(texts, max_size=4), st.dictionaries(st.text(max_size=5), texts, max_size=3)
)


@fuzz_settings(300)
@given(
    record=st.dictionaries(
        st.sampled_from(sorted({*_NOT_SCANNED, "purpose", "recipient_agency", "changes", "x"})),
        values,
    )
)
def test_the_joined_free_text_is_every_fields_free_text(record: dict[str, Any]) -> None:
    joined = "\x00".join(t for name, value in record.items() for t in _free_texts(name, value))
    assert _joined_free_text(record) == joined


@fuzz_settings(300)
@given(st.uuids())
def test_a_canonical_uuid_is_kept_and_any_other_spelling_made_canonical(value: uuid.UUID) -> None:
    canonical = str(value)
    assert parse_uuid("event_id", canonical) == canonical
    for spelling in (canonical.upper(), value.hex, f"{{{canonical}}}", f"urn:uuid:{canonical}"):
        assert parse_uuid("event_id", spelling) == canonical
