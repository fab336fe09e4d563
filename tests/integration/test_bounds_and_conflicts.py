"""Nothing intake accepts is refused downstream, and a reused disclosure id is a finding.

Values at the length bounds (``ledger.storable``) go through intake and must land in every
consumer's tables; values past them are refused by ``ledger emit`` and, written straight to the
topic, dead-lettered by every consumer alike. Consumers run in this process; `ledger emit` as the
installed console script.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kafka import KafkaProducer

from consumers.service import start_consumers
from ledger.codec import EventCodec
from ledger.events import DisclosureRecorded
from ledger.intake import build_event
from ledger.kafka.client import client_config
from ledger.kafka.offsets import log_end_offsets
from ledger.rules.config import load_rules_config
from ledger.runtime import Ledger
from ledger.storable import length_bound
from tests.integration.helpers import (
    at,
    caught_up,
    disclosure,
    emit,
    isolated_ledger,
    ledger_cli,
    rows,
    wait_until,
)

pytestmark = pytest.mark.integration
D = date(2025, 8, 7)


@pytest.fixture(scope="module")
def led(ledger_settings) -> Iterator[Ledger]:
    ledger = isolated_ledger(ledger_settings, "bounds")
    running = start_consumers(ledger, ["audit_log", "volume"])
    yield ledger
    running.stop()
    assert not running.errors, running.errors


def recipient_volume(ledger: Ledger, source: str, recipient: str) -> dict[date, tuple[int, int]]:
    found = rows(
        ledger,
        "SELECT day, disclosures, records FROM daily_volume WHERE scope_kind = 'recipient'"
        " AND source_agency = %s AND scope_value = %s",
        (source, recipient),
    )
    return {r[0]: (int(r[1]), int(r[2])) for r in found if r[1] or r[2]}


def dead_letters(ledger: Ledger) -> list[tuple[Any, ...]]:
    return rows(ledger, "SELECT consumer, kafka_partition, kafka_offset, reason FROM dead_letters")


# Letters only (a digit run could be shaped like a TIN), four-byte characters included: the
# widest UTF-8 an index row must hold. A value is a few letters repeated to exactly its bound.
_LETTERS = st.characters(codec="utf-8", categories=["Lu", "Ll", "Lo"])


def at_bound(field: str) -> st.SearchStrategy[str]:
    bound = length_bound(field)
    return st.lists(_LETTERS, min_size=1, max_size=6).map(lambda cs: ("".join(cs) * bound)[:bound])


def _bounded_ids() -> st.SearchStrategy[dict[str, str]]:
    fields = [
        "disclosure_id",
        "source_agency",
        "recipient_agency",
        "request_id",
        "notice_id",
        "transmission_channel",
        "recipient_address",
        "purpose",
        "nature",
        "tax_periods",
        "data_categories",
        "case_reference",
        "requesting_agency",
        "requesting_official",
        "reasons",
        "statutes",
        "served_on",
    ]
    return st.fixed_dictionaries({f: at_bound(f) for f in fields})


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(v=_bounded_ids())
def test_values_at_their_bounds_are_stored_by_every_consumer(
    led: Ledger, v: dict[str, str]
) -> None:
    # A unique tail keeps examples apart; the values stay exactly at their bounds.
    tag = uuid.uuid4().hex[:8]
    source = v["source_agency"][: -len(tag)] + tag
    recipient = v["recipient_agency"][: -len(tag)] + tag
    request_id = v["request_id"][: -len(tag)] + tag
    history = [
        disclosure(D - timedelta(days=400), 1, recipient, source=source),  # coverage starts
        disclosure(D - timedelta(days=100), 10, recipient, source=source),
    ]
    request = {
        "type": "DisclosureRequested",
        "request_id": request_id,
        "source_agency": source,
        "requesting_agency": v["requesting_agency"],
        "requesting_official": v["requesting_official"],
        "received_at": at(D - timedelta(days=2)),
        "reasons": v["reasons"],
        "statutes": [v["statutes"]],
        "tax_periods": [v["tax_periods"]],
        "recipient_address": v["recipient_address"],
    }
    notice = {
        "type": "NoticeFiled",
        "notice_id": v["notice_id"],
        "case_reference": v["case_reference"],
        "filed_at": at(D - timedelta(days=3)),
        "served_on": [v["served_on"]],
        "recipient_agency": recipient,
        "legal_authority": "26 U.S.C. 6103(i)(2)",
        "planned_transmission_start": at(D - timedelta(days=1)),
        "planned_transmission_end": at(D + timedelta(days=1)),
        "expected_record_count": 200_000,
    }
    big = disclosure(
        D,
        200_000,
        recipient,
        source=source,
        disclosure_id=v["disclosure_id"][: -len(tag)] + tag,
        request_id=request_id,
        notice_id=v["notice_id"],
        transmission_channel=v["transmission_channel"],
        recipient_address=v["recipient_address"],
        purpose=v["purpose"],
        nature=v["nature"],
        tax_periods=[v["tax_periods"]],
        data_categories=[v["data_categories"]],
    )
    for obj in (request, notice, big):  # the fields under test are exactly at their bounds
        for name, value in obj.items():
            if name in v and name not in ("source_agency", "recipient_agency"):
                text = value[0] if isinstance(value, list) else value
                assert len(text) == length_bound(name), name
    letters_before = len(dead_letters(led))
    events = emit(led, [*history, request, notice, big])
    caught_up(led)
    ids = [e.event_id for e in events]
    assert rows(led, "SELECT count(*) FROM entries WHERE event_id = ANY(%s::uuid[])", (ids,)) == [
        (len(ids),)
    ]
    assert rows(led, "SELECT count(*) FROM requests WHERE event_id = %s", (ids[2],)) == [(1,)]
    assert rows(led, "SELECT count(*) FROM notices WHERE event_id = %s", (ids[3],)) == [(1,)]
    assert rows(led, "SELECT disclosure_id FROM disclosures WHERE event_id = %s", (ids[4],)) == [
        (big["disclosure_id"],)
    ]
    # Volumes and alerts are kept by canonical name (docs/names.md): the folded skeleton.
    agency = load_rules_config(led.settings.rules_file, led.settings.registry_file).registry.agency
    source_id, recipient_id = agency(source).id, agency(recipient).id
    assert recipient_volume(led, source_id, recipient_id)[D] == (1, 200_000)
    spikes = rows(
        led,
        "SELECT severity, evidence FROM alerts WHERE rule = 'spike_over_prior_year'"
        " AND scope_kind = 'recipient' AND scope_source = %s AND scope_value = %s",
        (source_id, recipient_id),
    )
    assert [(s, ids[4] in e) for s, e in spikes] == [("critical", True)]
    assert len(dead_letters(led)) == letters_before


def test_long_disclosure_id_is_refused_at_intake(led: Ledger, tmp_path: Path) -> None:
    long_id = "D" * 3000
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps(disclosure(D, 200_000, "ICE", disclosure_id=long_id)) + "\n")
    before = log_end_offsets(led.bootstrap, led.topics.disclosures)
    refused = ledger_cli(led, "emit", "--file", str(path))
    assert refused.returncode == 5, refused.stdout + refused.stderr
    assert "line 1: disclosure_id is longer than 200 characters (3,000)" in refused.stderr
    assert long_id not in refused.stderr
    assert "Traceback" not in refused.stderr
    assert log_end_offsets(led.bootstrap, led.topics.disclosures) == before
    # Written straight to the topic, every consumer refuses it alike: no entry the volume
    # consumer lacks, no volume the log lacks.
    event = build_event(disclosure(D, 200_000, "ICE"))
    assert isinstance(event, DisclosureRecorded)
    forged = dataclasses.replace(event, disclosure_id=long_id)
    producer = KafkaProducer(**client_config(led.bootstrap), acks="all")
    try:
        sent = producer.send(
            led.topics.disclosures, value=EventCodec().encode(forged), partition=0
        ).get(30)
    finally:
        producer.close()
    caught_up(led)

    def letters() -> dict[str, str]:
        return {r[0]: r[3] for r in dead_letters(led) if (r[1], r[2]) == (0, sent.offset)}

    wait_until(lambda: len(letters()) == 2, 60, "both consumers' dead letters")
    for consumer, reason in letters().items():
        assert "disclosure_id is longer than 200 characters" in reason, consumer
    assert rows(led, "SELECT count(*) FROM entries WHERE event_id = %s", (forged.event_id,)) == [
        (0,)
    ]
    assert rows(
        led, "SELECT count(*) FROM disclosures WHERE event_id = %s", (forged.event_id,)
    ) == [(0,)]


def test_reused_disclosure_id_with_other_contents_is_critical_and_counted(led: Ledger) -> None:
    source = "IRS"
    disclosure_id = f"D-{uuid.uuid4().hex[:10]}"
    ssa = f"SSA {uuid.uuid4().hex[:6]}"
    [first] = emit(led, [disclosure(D, 3, ssa, source=source, disclosure_id=disclosure_id)])
    caught_up(led)
    # The same disclosure id from the same source (another name of it) with other contents.
    [second] = emit(
        led,
        [
            disclosure(
                D, 250_000, "ICE", source="Internal Revenue Service", disclosure_id=disclosure_id
            )
        ],
    )
    # And a plain resend of the first (same contents, a new event id): silent, not counted.
    [resend] = emit(led, [disclosure(D, 3, ssa, source=source, disclosure_id=disclosure_id)])
    caught_up(led)
    conflicts = rows(
        led,
        "SELECT severity, evidence, observed FROM alerts WHERE rule = 'conflicting_disclosure'"
        " AND %s = ANY(evidence)",
        (second.event_id,),
    )
    assert conflicts == [("critical", [second.event_id, first.event_id], 250_000)]
    assert recipient_volume(led, source, "ICE") == {D: (1, 250_000)}
    assert recipient_volume(led, source, ssa) == {D: (1, 3)}
    duplicates = rows(
        led,
        "SELECT severity, evidence FROM alerts WHERE rule = 'duplicate_disclosure'"
        " AND %s = ANY(evidence)",
        (resend.event_id,),
    )
    assert duplicates == [("warning", [resend.event_id, first.event_id])]
    assert rows(
        led,
        "SELECT count(*) FROM alerts WHERE rule = 'conflicting_disclosure' AND %s = ANY(evidence)",
        (resend.event_id,),
    ) == [(0,)]
