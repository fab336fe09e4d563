"""The alert lifecycle end to end: later facts raise alerts at once and contest (never silently
resolve) the ones already raised, through Kafka and PostgreSQL.

Each test runs the real consumers, sends the facts in the order a new user saw go wrong (the
transmission first, the notice or order entered afterwards, corrections after that) and checks
alert statuses, daily volume and the alerts topic; the first one also replays the log and the
CLI lists alerts by status.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from consumers.service import start_consumers
from ledger.events import AlertResolved
from ledger.kafka.producer import EventProducer
from ledger.ops.replay_command import run_replay
from ledger.runtime import Ledger
from ledger.store.connection import connection
from ledger.store.queries import accounting
from tests.integration.helpers import (
    at,
    caught_up,
    cli_env,
    disclosure,
    emit,
    events_on_topic,
    isolated_ledger,
    rows,
)

pytestmark = pytest.mark.integration

D = date(2025, 9, 23)
ICE = "U.S. Immigration and Customs Enforcement"
I2 = "26 U.S.C. 6103(i)(2)"
CASE = "1:25-cv-00457"


def utc(day: date, hour: int = 12) -> datetime:
    return datetime.fromisoformat(at(day, hour)).astimezone(UTC)


def order(order_type: str, recipient: str, effective: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "type": "CourtOrderRecorded",
        "order_id": f"O-{uuid.uuid4().hex[:8]}",
        "case_reference": CASE,
        "court": "U.S. District Court for the District of Columbia",
        "order_type": order_type,
        "entered_at": effective.isoformat(),
        "effective_at": effective.isoformat(),
        "recipients": [recipient],
        "authorities": [I2],
        "notice_hours": 24,
        **extra,
    }


def notice(filed: datetime, sent: datetime, expected: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "NoticeFiled",
        "notice_id": f"N-{uuid.uuid4().hex[:8]}",
        "case_reference": CASE,
        "filed_at": filed.isoformat(),
        "served_on": ["Court", "Plaintiffs"],
        "recipient_agency": ICE,
        "legal_authority": I2,
        "planned_transmission_start": (sent - timedelta(hours=1)).isoformat(),
        "planned_transmission_end": (sent + timedelta(hours=1)).isoformat(),
        "expected_record_count": expected,
        **extra,
    }


@pytest.fixture
def led(ledger_settings: Any) -> Iterator[Ledger]:
    ledger = isolated_ledger(ledger_settings, "lifecycle")
    running = start_consumers(ledger)
    try:
        yield ledger
    finally:
        running.stop()


def send(led: Ledger, objs: list[dict[str, Any]]) -> list[str]:
    """Sends the events and waits until the consumers applied them; their event ids."""
    events = emit(led, objs)
    caught_up(led)
    return [e.event_id for e in events]


def statuses(led: Ledger, rule: str, event_id: str) -> list[tuple[str, str | None, str | None]]:
    """(status, reason, caused by) of each alert of ``rule`` about disclosure ``event_id``."""
    return [
        (r[0], r[1], r[2])
        for r in rows(
            led,
            "SELECT s.status, s.status_reason, s.status_caused_by FROM alerts a"
            " JOIN alert_status s USING (alert_id) WHERE a.rule = %s AND a.evidence[1] = %s"
            " ORDER BY a.day",
            (rule, event_id),
        )
    ]


def resolved_on_topic(led: Ledger) -> list[AlertResolved]:
    return events_on_topic(led, AlertResolved)


def ledger_cli(led: Ledger, *args: str) -> subprocess.CompletedProcess[str]:
    cli = shutil.which("ledger")
    assert cli, "the ledger console script is not installed"
    return subprocess.run(
        [cli, *args], env=cli_env(led), capture_output=True, text=True, check=False, timeout=120
    )


def contested_by(led: Ledger, cause: str) -> list[list[str]]:
    """The evidence of each critical finding_contested alert ``cause`` raised."""
    return [
        list(r[0])
        for r in rows(
            led,
            "SELECT evidence FROM alerts WHERE rule = 'finding_contested'"
            " AND severity = 'critical' AND evidence[1] = %s ORDER BY 1",
            (cause,),
        )
    ]


def alert_id_of(led: Ledger, rule: str, event_id: str) -> str:
    [(alert_id,)] = rows(
        led,
        "SELECT alert_id::text FROM alerts WHERE rule = %s AND evidence[1] = %s",
        (rule, event_id),
    )
    return str(alert_id)


def test_a_notice_entered_after_the_transmission_contests_its_alert(led: Ledger) -> None:
    sent = utc(D, 14)
    send(led, [order("NOTICE_REQUIREMENT", ICE, utc(D - timedelta(days=20)), bulk_threshold=1000)])
    [bulk] = send(led, [disclosure(D, 3000, ICE, when=sent.isoformat())])
    assert statuses(led, "bulk_without_notice", bulk) == [("open", None, None)]

    # Filed for "ICE": the transmission went to "U.S. Immigration and Customs Enforcement".
    late = notice(sent - timedelta(hours=25), sent, 5000, recipient_agency="ICE")
    [filed] = send(led, [late])
    # Whatever filed_at it claims, the ledger received it after the transmission: contested.
    [(status, reason, cause)] = statuses(led, "bulk_without_notice", bulk)
    assert (status, cause) == ("open", filed)
    assert reason
    assert reason.startswith("contested: ")
    assert filed in reason
    assert contested_by(led, filed) == [[filed, alert_id_of(led, "bulk_without_notice", bulk)]]
    assert resolved_on_topic(led) == []

    listed = ledger_cli(led, "alerts", "--status", "resolved", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["alerts"] == []
    still_open = json.loads(ledger_cli(led, "alerts", "--status", "open", "--json").stdout)
    every = json.loads(ledger_cli(led, "alerts", "--json").stdout)["alerts"]  # all by default
    assert {"bulk_without_notice", "finding_contested"} <= {a["rule"] for a in still_open["alerts"]}
    assert len(every) == len(still_open["alerts"])
    wrong = ledger_cli(led, "alerts", "--status", "closed")
    assert wrong.returncode != 0
    assert "Traceback" not in wrong.stderr
    assert "closed" in wrong.stderr

    result = run_replay(led.settings, show_progress=False)
    assert result.differences == []


def test_a_notice_covers_only_the_records_it_announced(led: Ledger) -> None:
    sent = utc(D, 14)
    send(led, [order("NOTICE_REQUIREMENT", ICE, utc(D - timedelta(days=20)), bulk_threshold=1000)])
    send(led, [notice(sent - timedelta(hours=30), sent, 5000)])
    first, second = send(
        led,
        [
            disclosure(D, 3000, ICE, when=sent.isoformat()),
            disclosure(D, 3000, ICE, when=(sent + timedelta(minutes=10)).isoformat()),
        ],
    )
    assert statuses(led, "bulk_without_notice", first) == []
    [(status, _, _)] = statuses(led, "bulk_without_notice", second)
    assert status == "open"
    message = rows(led, "SELECT message FROM alerts WHERE rule = 'bulk_without_notice'")[0][0]
    assert "3,000 already sent under it" in message


def test_an_order_entered_late_raises_the_violations_before_it_and_a_vacatur_only_contests(
    led: Ledger,
) -> None:
    stayed = f"Stayed Agency {uuid.uuid4().hex[:6]}"
    early, late = send(
        led,
        [
            disclosure(D - timedelta(days=2), 10, stayed),
            disclosure(D + timedelta(days=2), 10, stayed),
        ],
    )
    assert statuses(led, "disclosure_during_stay", early) == []
    stay = order(
        "STAY",
        stayed,
        utc(D - timedelta(days=5)),
        expires_at=utc(D + timedelta(days=5)).isoformat(),
    )
    [recorded] = send(led, [stay])
    assert statuses(led, "disclosure_during_stay", early) == [("open", None, None)]
    assert statuses(led, "disclosure_during_stay", late) == [("open", None, None)]
    evidence = rows(led, "SELECT evidence FROM alerts WHERE rule = 'disclosure_during_stay'")
    assert all(recorded in e[0] for e in evidence)

    vacated = {
        "type": "CourtOrderVacated",
        "order_id": stay["order_id"],
        "vacated_at": utc(D).isoformat(),
        "reason": "on appeal",
    }
    [ended] = send(led, [vacated])
    assert statuses(led, "disclosure_during_stay", early) == [("open", None, None)]
    [(status, _, cause)] = statuses(led, "disclosure_during_stay", late)
    assert (status, cause) == ("open", ended)  # contested: a vacatur recorded after the fact
    assert len(contested_by(led, ended)) == 1

    void = {**vacated, "ab_initio": True, "reason": "void from the start"}
    send(led, [void])
    assert statuses(led, "disclosure_during_stay", early) == [("open", None, None)]  # it stood
    assert resolved_on_topic(led) == []
    assert run_replay(led.settings, show_progress=False).differences == []  # same histories


def test_an_amended_order_binds_under_its_new_terms_from_amended_at(led: Ledger) -> None:
    sent = utc(D, 14)
    notice_order = order(
        "NOTICE_REQUIREMENT", ICE, utc(D - timedelta(days=20)), bulk_threshold=1000
    )
    send(led, [notice_order])
    [bulk] = send(led, [disclosure(D, 3000, ICE, when=sent.isoformat())])
    assert statuses(led, "bulk_without_notice", bulk)[0][0] == "open"
    amended = {
        "type": "CourtOrderAmended",
        "order_id": notice_order["order_id"],
        "amended_at": utc(D + timedelta(days=1)).isoformat(),
        "bulk_threshold": 5000,
    }
    send(led, [amended])
    assert statuses(led, "bulk_without_notice", bulk) == [("open", None, None)]  # terms then
    after = sent + timedelta(days=2)
    small, large = send(
        led,
        [
            disclosure(D + timedelta(days=2), 3000, ICE, when=after.isoformat()),
            disclosure(
                D + timedelta(days=2), 6000, ICE, when=(after + timedelta(hours=1)).isoformat()
            ),
        ],
    )
    assert statuses(led, "bulk_without_notice", small) == []  # under the amended threshold
    assert statuses(led, "bulk_without_notice", large)[0][0] == "open"


def volume(led: Ledger, kind: str, value: str) -> dict[date, tuple[int, int]]:
    found = rows(
        led,
        "SELECT day, disclosures, records FROM daily_volume WHERE scope_kind = %s AND scope_value = %s",
        (kind, value),
    )
    return {r[0]: (int(r[1]), int(r[2])) for r in found if r[1] or r[2]}


def test_an_amendment_counts_volume_up_and_contests_or_raises(led: Ledger) -> None:
    office = f"Amended Office {uuid.uuid4().hex[:6]}"
    ref = uuid.uuid4().hex * 2  # a keyed taxpayer ref (64 hex digits), for the accounting
    original = disclosure(D, 100, office, authority="26 U.S.C. 6103(z)(9)", taxpayer_refs=[ref])
    [recorded] = send(led, [original])
    assert volume(led, "recipient", office) == {D: (1, 100)}
    assert D in volume(led, "authority", "6103(z)(9)")
    assert statuses(led, "missing_legal_authority", recorded)[0][0] == "open"

    base = {
        "type": "DisclosureAmended",
        "disclosure_id": original["disclosure_id"],
        "recipient_agency": office,
        "reason": "corrected",
    }
    moved = {
        "legal_authority": I2,
        "record_count": "40",
        "transmitted_at": at(D + timedelta(days=2)),
    }
    [fix] = send(led, [{**base, "changes": moved}])
    # Records only count up: the first recorded day keeps its 100, the corrected day gains 40.
    assert volume(led, "recipient", office) == {D: (1, 100), D + timedelta(days=2): (1, 40)}
    assert D in volume(led, "authority", "6103(z)(9)")
    assert D + timedelta(days=2) in volume(led, "authority", "6103(i)(2)")
    assert statuses(led, "missing_legal_authority", recorded)[0][::2] == ("open", fix)
    assert len(contested_by(led, fix)) == 1
    with connection(led.admin_url, led.schema) as conn:
        [accounted] = accounting(conn, ref)
    assert (accounted["day"], accounted["legal_authority"]) == (D + timedelta(days=2), I2)
    assert (accounted["first_day"], accounted["first_record_count"]) == (D, 100)
    assert accounted["amended"] is True

    send(led, [{**base, "changes": {"legal_authority": "26 U.S.C. 6103(z)(9)"}}])
    first_day, corrected_day = statuses(led, "missing_legal_authority", recorded)
    assert first_day[::2] == ("open", fix)
    assert corrected_day == ("open", None, None)  # raised on its corrected day

    [withdrawn] = send(led, [{**base, "changes": {"withdrawn": "true"}}])
    assert volume(led, "recipient", office) == {D: (1, 100), D + timedelta(days=2): (1, 40)}
    assert statuses(led, "missing_legal_authority", recorded)[1][::2] == ("open", withdrawn)
    with connection(led.admin_url, led.schema) as conn:
        [kept] = accounting(conn, ref)  # withdrawn, and still accounted for
    assert kept["withdrawn"] is True
    assert run_replay(led.settings, show_progress=False).differences == []


def test_a_bad_amendment_is_refused_at_intake_naming_the_field(led: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "amend.jsonl"
    bad = {
        "type": "DisclosureAmended",
        "disclosure_id": "D-1",
        "recipient_agency": "ICE",
        "reason": "r",
        "changes": {"record_count": "many"},
    }
    path.write_text(json.dumps(bad) + "\n")
    result = ledger_cli(led, "emit", "--file", str(path))
    assert result.returncode == 5, result.stderr
    assert "changes.record_count must be a whole number" in result.stderr
    assert "many" not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_disclosure_sent_again_under_a_new_event_id_is_counted_once(led: Ledger) -> None:
    office = f"Twice Office {uuid.uuid4().hex[:6]}"
    obj = disclosure(D, 70, office)
    [event] = emit(led, [obj])
    first = event.event_id
    with EventProducer(led.bootstrap, led.topics.disclosures) as producer:
        producer.send([event])  # the same event redelivered: silently idempotent
    caught_up(led)
    assert volume(led, "recipient", office) == {D: (1, 70)}
    assert rows(led, "SELECT count(*) FROM alerts WHERE rule = 'duplicate_disclosure'") == [(0,)]
    [second] = send(led, [obj])  # a re-run of `ledger emit`: a new event id
    assert first != second
    assert volume(led, "recipient", office) == {D: (1, 70)}
    dupes = rows(led, "SELECT severity, evidence FROM alerts WHERE rule = 'duplicate_disclosure'")
    assert dupes == [("warning", [second, first])]
    emit_again = emit(led, [obj])  # and once more: a third event id, a second warning
    caught_up(led)
    third = emit_again[0].event_id
    assert volume(led, "recipient", office) == {D: (1, 70)}
    assert len(rows(led, "SELECT 1 FROM alerts WHERE rule = 'duplicate_disclosure'")) == 2
    assert run_replay(led.settings, show_progress=False).differences == []
    assert third not in (first, second)
    assert rows(
        led, "SELECT count(*) FROM disclosures WHERE disclosure_id = %s", (obj["disclosure_id"],)
    ) == [(1,)]


def test_an_out_of_order_spike_is_contested_when_the_earlier_disclosures_land(led: Ledger) -> None:
    source = f"Source {uuid.uuid4().hex[:6]}"
    office = f"Spiked Office {uuid.uuid4().hex[:6]}"
    send(
        led,
        [
            disclosure(D - timedelta(days=400), 10, "Elsewhere", source=source),
            disclosure(D - timedelta(days=300), 10, office, source=source),
        ],
    )
    [spiking] = send(led, [disclosure(D, 100, office, source=source)])
    spikes = rows(
        led,
        "SELECT a.scope_kind, s.status FROM alerts a JOIN alert_status s USING (alert_id)"
        " WHERE a.rule = 'spike_over_prior_year' AND a.scope_source = %s ORDER BY 1",
        (source,),
    )
    assert ("recipient", "open") in spikes
    [late] = send(led, [disclosure(D - timedelta(days=30), 200, office, source=source)])
    after = rows(
        led,
        "SELECT a.scope_kind, s.status, s.status_caused_by, s.status_reason FROM alerts a"
        " JOIN alert_status s USING (alert_id)"
        " WHERE a.rule = 'spike_over_prior_year' AND a.scope_value = %s AND a.day = %s",
        (office, D),
    )
    assert [(r[1], r[2]) for r in after] == [("open", late)]
    assert after[0][3].startswith("contested: ")
    assert "arrived late" in after[0][3]
    assert spiking


def test_a_contested_finding_is_delivered_by_webhook_under_its_own_id(ledger_settings: Any) -> None:
    from ledger.webhook_config import DeliveryConfig, Endpoint
    from tests.integration.helpers import wait_until
    from tests.integration.test_alert_delivery import SECRET, Receiver, run_delivery

    led = isolated_ledger(ledger_settings, "lifecycle_hooks")
    running = start_consumers(led, ["audit_log", "volume"])  # delivery is the test's own
    sent = utc(D, 14)
    send(led, [order("NOTICE_REQUIREMENT", ICE, utc(D - timedelta(days=20)), bulk_threshold=1000)])
    send(led, [disclosure(D, 3000, ICE, when=sent.isoformat())])
    send(led, [notice(sent - timedelta(hours=25), sent, 5000)])
    running.stop()
    [(alert_id,)] = rows(led, "SELECT alert_id::text FROM alert_status_changes")
    [(resolution_id,)] = rows(
        led, "SELECT alert_id::text FROM alerts WHERE rule = 'finding_contested'"
    )
    receiver = Receiver()
    config = DeliveryConfig((Endpoint("oig", receiver.url, SECRET),), attempts=2, base_seconds=0.01)
    runner, thread = run_delivery(led, config)
    try:
        wait_until(
            lambda: {alert_id, resolution_id} <= set(receiver.accepted),
            timeout=60,
            what="the alert and the finding contesting it delivered",
        )
    finally:
        runner.stop.set()
        thread.join(30)
        receiver.close()
    assert receiver.rejected_signatures == 0
    assert receiver.accepted.count(resolution_id) == 1


def test_a_sustained_excess_is_contested_when_earlier_disclosures_land(led: Ledger) -> None:
    source = f"Source {uuid.uuid4().hex[:6]}"
    office = f"Split Office {uuid.uuid4().hex[:6]}"
    send(
        led,
        [
            disclosure(D - timedelta(days=400), 10, "Elsewhere", source=source),
            disclosure(D - timedelta(days=300), 100, office, source=source),
        ],
    )
    # 60 records a day for four days: no day over the prior year's 100, two days are.
    send(
        led,
        [disclosure(D - timedelta(days=n), 60, office, source=source) for n in range(3, -1, -1)],
    )
    query = (
        "SELECT a.day, s.status, s.status_caused_by FROM alerts a JOIN alert_status s"
        " USING (alert_id) WHERE a.rule = 'sustained_over_prior_year' AND a.scope_kind = 'recipient'"
        " AND a.scope_value = %s ORDER BY a.day"
    )
    assert rows(led, query, (office,)) == [(D - timedelta(days=2), "open", None)]
    [late] = send(led, [disclosure(D - timedelta(days=100), 500, office, source=source)])
    assert rows(led, query, (office,)) == [(D - timedelta(days=2), "open", late)]
