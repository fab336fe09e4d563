"""End to end through the real broker and server: emit -> entries -> volume -> alerts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta

import psycopg
import pytest

from consumers.service import RunningConsumers, start_consumers
from ledger.ops.verify import verify_all
from ledger.runtime import Ledger
from ledger.store.alerts import alerts_in_scope
from ledger.store.connection import connection
from tests.integration.helpers import at, caught_up, disclosure, emit, isolated_ledger, rows

pytestmark = pytest.mark.integration

D = date(2025, 8, 7)


@pytest.fixture(scope="module")
def live(ledger_settings) -> Iterator[tuple[Ledger, RunningConsumers]]:
    ledger = isolated_ledger(ledger_settings, "flow")
    running = start_consumers(ledger)
    yield ledger, running
    running.stop()
    assert not running.errors, running.errors


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


def alerts_for(ledger: Ledger, rule: str, name: str) -> list[tuple]:
    """Alerts of ``rule`` on a scope whose source or value is ``name`` (its parts, not its text)."""
    return rows(
        ledger,
        "SELECT scope, day, observed, threshold, evidence FROM alerts"
        " WHERE rule = %s AND %s IN (scope_source, scope_value) ORDER BY scope",
        (rule, name),
    )


def test_entries_are_the_exact_message_bytes_chained(live) -> None:
    ledger, _ = live
    recipient = unique("Bytes")
    events = emit(ledger, [disclosure(D, 5, recipient) for _ in range(20)])
    caught_up(ledger)
    stored = rows(
        ledger,
        "SELECT event_id::text, value, leaf_hash FROM entries WHERE event_id = ANY(%s::uuid[])",
        ([e.event_id for e in events],),
    )
    assert len(stored) == 20
    import hashlib

    for _, value, leaf in stored:
        assert bytes(value)[:2] == b"\xc3\x01"
        assert bytes(leaf) == hashlib.sha256(b"\x00" + bytes(value)).digest()


def test_spike_fires_on_one_record_more_than_the_prior_year_not_on_equal(live) -> None:
    ledger, _ = live
    source, recipient = unique("Spike source"), unique("Spike recipient")
    history = [
        disclosure(D - timedelta(days=400), 1, recipient, source=source),  # coverage starts
        disclosure(D - timedelta(days=366), 1000, recipient, source=source),  # outside the window
        disclosure(D - timedelta(days=365), 100, recipient, source=source),  # first day inside
        disclosure(D - timedelta(days=1), 50, recipient, source=source),  # last day inside
    ]
    emit(ledger, history)
    (equal,) = emit(ledger, [disclosure(D, 150, recipient, source=source)])
    caught_up(ledger)
    assert alerts_for(ledger, "spike_over_prior_year", source) == []
    (crossing,) = emit(ledger, [disclosure(D, 1, recipient, source=source)])
    caught_up(ledger)
    fired = alerts_for(ledger, "spike_over_prior_year", source)
    # (source, recipient), (source, authority) and its family 6103(i), the recipient under the
    # authority, and the source as a whole
    assert len(fired) == 5, fired
    for scope, day, observed, threshold, evidence in fired:
        assert (day, observed, threshold) == (D, 151, 150), scope
        assert crossing.event_id in evidence
        assert equal.event_id not in evidence
    with connection(ledger.reader_url, ledger.schema) as conn:
        found = {
            kind: alerts_in_scope(conn, kind, source, rule="spike_over_prior_year")
            for kind in ("recipient", "authority", "pair", "source")
        }
        every_rule = alerts_in_scope(conn, "recipient", source, recipient)
        assert found["recipient"][0] in every_rule
        assert {a["scope"] for a in every_rule} == {f"{source} -> recipient {recipient}"}
        assert alerts_in_scope(conn, "recipient", source, "someone else") == []
    assert [(a["scope"], a["scope_value"]) for a in found["recipient"]] == [
        (f"{source} -> recipient {recipient}", recipient)
    ]
    assert sorted(a["scope_value"] for a in found["authority"]) == ["6103(i)", "6103(i)(2)"]
    assert [(a["scope"], a["scope_value"]) for a in found["pair"]] == [
        (f"{source} -> {recipient} under 6103(i)(2)", f"{recipient} under 6103(i)(2)")
    ]
    assert [(a["scope"], a["scope_value"]) for a in found["source"]] == [(source, "")]


def test_a_redelivered_day_does_not_duplicate_the_alert(live) -> None:
    ledger, _ = live
    source, recipient = unique("Dup source"), unique("Dup recipient")
    emit(
        ledger,
        [
            disclosure(D - timedelta(days=400), 1, recipient, source=source),
            disclosure(D - timedelta(days=10), 10, recipient, source=source),
        ],
    )
    emit(ledger, [disclosure(D, 11, recipient, source=source)])
    emit(
        ledger, [disclosure(D, 5, recipient, source=source)]
    )  # same day, still over: same alert ids
    caught_up(ledger)
    assert len(alerts_for(ledger, "spike_over_prior_year", source)) == 5


def test_days_are_calendar_days_in_the_ledger_time_zone(live) -> None:
    ledger, _ = live
    source, recipient = unique("TZ source"), unique("TZ recipient")
    emit(
        ledger,
        [
            disclosure(
                D, 7, recipient, source=source, when=at(D, 23, 59, 59)
            ),  # 03:59:59Z next day
            disclosure(D, 3, recipient, source=source, when=at(D + timedelta(days=1), 0, 0, 0)),
        ],
    )
    caught_up(ledger)
    by_day = dict(
        rows(
            ledger,
            "SELECT day, records FROM daily_volume WHERE scope_kind='recipient' AND scope_value=%s",
            (recipient,),
        )
    )
    assert by_day == {D: 7, D + timedelta(days=1): 3}


def test_a_late_event_updates_its_day_and_re_evaluates_later_days(live) -> None:
    ledger, _ = live
    source, recipient = unique("Late source"), unique("Late recipient")
    emit(
        ledger,
        [
            disclosure(D - timedelta(days=400), 1, recipient, source=source),
            disclosure(D, 10, recipient, source=source),
        ],
    )
    caught_up(ledger)
    assert alerts_for(ledger, "spike_over_prior_year", source) == []  # nothing in the prior year
    assert alerts_for(ledger, "new_recipient", recipient)
    (late,) = emit(ledger, [disclosure(D - timedelta(days=5), 3, recipient, source=source)])
    caught_up(ledger)
    by_day = dict(
        rows(
            ledger,
            "SELECT day, records FROM daily_volume WHERE scope_kind='recipient' AND scope_value=%s",
            (recipient,),
        )
    )
    assert by_day[D - timedelta(days=5)] == 3
    fired = alerts_for(ledger, "spike_over_prior_year", source)
    assert fired
    assert all(
        day == D and observed == 10 and threshold == 3 and late.event_id in ev
        for _, day, observed, threshold, ev in fired
    )


def test_the_same_event_delivered_twice_is_stored_once(live) -> None:
    ledger, _ = live
    from ledger.kafka.producer import EventProducer

    obj = disclosure(D, 4, unique("Twice"))
    obj["event_id"] = str(uuid.uuid4())
    [event] = emit(ledger, [obj])
    with EventProducer(ledger.bootstrap, ledger.topics.disclosures) as producer:
        producer.send([event])  # the same bytes again: a redelivery, recorded and not applied
    caught_up(ledger)
    assert rows(ledger, "SELECT count(*) FROM entries WHERE event_id = %s", (obj["event_id"],)) == [
        (1,)
    ]
    assert rows(
        ledger, "SELECT count(*) FROM disclosures WHERE event_id = %s", (obj["event_id"],)
    ) == [(1,)]


def test_a_poison_message_goes_to_the_dead_letter_topic_and_consuming_continues(live) -> None:
    from kafka import KafkaConsumer

    from ledger.kafka.client import client_config
    from ledger.kafka.producer import EventProducer

    ledger, _ = live
    with EventProducer(ledger.bootstrap, ledger.topics.disclosures) as producer:
        producer.send_raw(
            b"\xc3\x01" + b"\xff" * 8 + b"garbage",
            b"poison",
            [("event_type", b"DisclosureRecorded")],
        )
    (after,) = emit(ledger, [disclosure(D, 1, unique("After poison"))])
    caught_up(ledger)
    assert rows(ledger, "SELECT count(*) FROM entries WHERE event_id = %s", (after.event_id,)) == [
        (1,)
    ]
    reasons = rows(ledger, "SELECT reason FROM dead_letters")
    assert any("fingerprint" in r[0] or "truncated" in r[0] for r in reasons)
    malformed = rows(ledger, "SELECT scope, scope_kind FROM alerts WHERE rule = 'malformed_event'")
    assert malformed
    assert all(scope.startswith(f"{ledger.topics.disclosures}/") for scope, _ in malformed)
    assert all(kind is None for _, kind in malformed)  # a topic partition, not a volume scope
    consumer = KafkaConsumer(
        ledger.topics.dlq,
        **client_config(ledger.bootstrap),
        auto_offset_reset="earliest",
        consumer_timeout_ms=10000,
        enable_auto_commit=False,
    )
    dead = next(iter(consumer))
    consumer.close()
    assert dead.value == b"\xc3\x01" + b"\xff" * 8 + b"garbage"
    assert dict(dead.headers)["dlq_reason"]


def test_entries_reject_update_delete_and_truncate(live) -> None:
    ledger, _ = live
    emit(ledger, [disclosure(D, 1, unique("Immutable"))])
    caught_up(ledger)
    for url in (ledger.writer_url, ledger.admin_url):
        for statement in (
            "UPDATE entries SET event_type = 'x'",
            "DELETE FROM entries",
            "TRUNCATE entries",
        ):
            with connection(url, ledger.schema) as conn, pytest.raises(psycopg.Error) as info:
                conn.execute(statement)
            assert "append-only" in str(info.value) or "permission denied" in str(info.value)


def test_verify_names_the_row_changed_behind_the_triggers_back(ledger_settings) -> None:
    ledger = isolated_ledger(ledger_settings, "tamper")
    running = start_consumers(ledger)
    try:
        emit(ledger, [disclosure(D, i + 1, "Tamper recipient") for i in range(30)])
        caught_up(ledger)
    finally:
        running.stop()
    with connection(ledger.reader_url, ledger.schema) as conn:
        assert verify_all(conn, ledger.bootstrap).findings == []
    (log_id,) = rows(ledger, "SELECT DISTINCT log_id FROM entries")[0]
    with connection(ledger.admin_url, ledger.schema) as conn:
        conn.execute("SET session_replication_role = replica")  # superuser: triggers off
        conn.execute(
            "UPDATE entries SET value = value || '\\x00'::bytea WHERE log_id = %s AND seq = 7",
            (log_id,),
        )
        conn.commit()
    with connection(ledger.reader_url, ledger.schema) as conn:
        report = verify_all(conn, ledger.bootstrap)
    first = report.findings[0]
    assert (first.kind, first.log_id, first.seq) == ("content_mismatch", log_id, 7)
    assert report.exit_code == 11
