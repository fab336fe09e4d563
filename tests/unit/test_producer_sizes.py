"""The producer's partition choice and message-size bounds, and intake's free-text scan."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kafka.partitioner import DefaultPartitioner

from ledger.intake import (
    _NOT_SCANNED,
    _free_texts,
    _joined_free_text,
)
from ledger.intake_values import parse_uuid
from ledger.kafka import producer
from ledger.kafka.producer import _SIZE_SLACK, EncodedEvent, _KeyPartitioner, message_size
from tests.unit.fuzz import fuzz_settings


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
