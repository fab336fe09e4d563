"""History is judged as it happened: each dodge an inspector general's analyst tried, through
Kafka and PostgreSQL. A later fact from the overseen party (an amendment, a withdrawal, a
re-dating or re-labelling, a back-dated disclosure, an order's amendment or vacatur) never
silently resolves a finding: the alert stays open, contested, beside a critical
finding_contested alert naming both events; and a late recording is itself a finding.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from consumers.service import start_consumers
from ledger.ops.replay_command import run_replay
from ledger.runtime import Ledger
from ledger.store.connection import connection
from ledger.store.queries import accounting
from tests.integration.helpers import at, disclosure, isolated_ledger, ledger_cli, rows
from tests.integration.test_alert_lifecycle import ICE, notice, order, send, statuses, utc

pytestmark = pytest.mark.integration

D = date(2025, 8, 7)


@pytest.fixture
def led(ledger_settings: Any) -> Iterator[Ledger]:
    ledger = isolated_ledger(ledger_settings, "history")
    running = start_consumers(ledger)
    try:
        yield ledger
    finally:
        running.stop()


def spikes(led: Ledger, source: str) -> list[tuple[str, str, str | None, str]]:
    """(scope kind, status, status reason, alert id) of the source's spike alerts on D."""
    return [
        (r[0], r[1], r[2], r[3])
        for r in rows(
            led,
            "SELECT a.scope_kind, s.status, s.status_reason, a.alert_id::text FROM alerts a"
            " JOIN alert_status s USING (alert_id) WHERE a.rule = 'spike_over_prior_year'"
            " AND a.scope_source = %s AND a.day = %s ORDER BY 1, 4",
            (source, D),
        )
    ]


def contested(led: Ledger) -> list[tuple[str, list[str]]]:
    """(severity, evidence) of every finding_contested alert."""
    return [
        (r[0], list(r[1]))
        for r in rows(
            led,
            "SELECT severity, evidence FROM alerts WHERE rule = 'finding_contested' ORDER BY 2",
        )
    ]


def spike_history(led: Ledger, office: str, **extra: Any) -> tuple[str, dict[str, Any]]:
    """A source with a year of history and a 100-record spike to ``office`` on D."""
    source = f"Source {uuid.uuid4().hex[:6]}"
    send(
        led,
        [
            disclosure(D - timedelta(days=400), 10, "Elsewhere", source=source),
            disclosure(D - timedelta(days=300), 10, office, source=source),
        ],
    )
    spike = disclosure(D, 100, office, source=source, **extra)
    send(led, [spike])
    found = spikes(led, source)
    assert found
    assert all(s[1] == "open" for s in found), found
    return source, spike


def amend(spike: dict[str, Any], **changes: str) -> dict[str, Any]:
    return {
        "type": "DisclosureAmended",
        "disclosure_id": spike["disclosure_id"],
        "recipient_agency": spike["recipient_agency"],
        "reason": "corrected figures",
        "changes": changes,
    }


def assert_contested_by(led: Ledger, source: str, cause: str) -> None:
    """Every spike on D stays open, contested by ``cause``; a critical finding names both."""
    found = spikes(led, source)
    assert found
    for _, status, reason, alert_id in found:
        assert status == "open"
        assert reason is not None
        assert reason.startswith("contested: ")
        assert ("critical", [cause, alert_id]) in contested(led)


def test_amendment_lowering_spike_is_contested_and_spike_stays_open(led: Ledger) -> None:
    office = f"Spiked Office {uuid.uuid4().hex[:6]}"
    source, spike = spike_history(led, office)
    [lowered] = send(led, [amend(spike, record_count="4")])
    assert_contested_by(led, source, lowered)
    volume = rows(
        led,
        "SELECT records FROM daily_volume WHERE scope_kind = 'recipient' AND scope_value = %s"
        " AND day = %s",
        (office, D),
    )
    assert volume == [(100,)]  # as first recorded: records only count up
    assert run_replay(led.settings, show_progress=False).differences == []


def test_volume_shows_as_amended_beside_as_first_recorded(led: Ledger) -> None:
    office = f"Amended Office {uuid.uuid4().hex[:6]}"
    _, spike = spike_history(led, office)
    send(led, [amend(spike, record_count="4")])
    asked = ledger_cli(
        led,
        "query",
        "--volume",
        "recipient",
        "--recipient",
        office,
        "--since",
        D.isoformat(),
        "--until",
        D.isoformat(),
        "--json",
    )
    assert asked.returncode == 0, asked.stderr
    [day] = json.loads(asked.stdout)
    assert (day["records"], day["records_as_amended"]) == (100, 4)
    assert (day["disclosures"], day["disclosures_as_amended"]) == (1, 1)
    table = ledger_cli(led, "query", "--volume", "recipient", "--recipient", office)
    assert table.returncode == 0, table.stderr
    assert "as amended" in table.stdout
    # A withdrawal takes the disclosure out of the volume as amended, never out of the count.
    send(led, [amend(spike, withdrawn="true")])
    asked = ledger_cli(led, "query", "--volume", "recipient", "--recipient", office, "--json")
    [moved] = [d for d in json.loads(asked.stdout) if d["day"] == D.isoformat()]
    assert (moved["records"], moved["records_as_amended"]) == (100, 0)
    assert (moved["disclosures"], moved["disclosures_as_amended"]) == (1, 0)
    assert run_replay(led.settings, show_progress=False).differences == []


def test_withdrawal_keeps_accounting_and_request_incomplete(led: Ledger) -> None:
    ref = uuid.uuid4().hex * 2
    obj = disclosure(D, 47_289, ICE, address_verification="PLACEHOLDER", taxpayer_refs=[ref])
    [recorded] = send(led, [obj])
    assert statuses(led, "request_incomplete", recorded)[0][0] == "open"
    [withdrawn] = send(led, [amend(obj, withdrawn="true")])
    [(status, reason, cause)] = statuses(led, "request_incomplete", recorded)
    assert (status, cause) == ("open", withdrawn)
    assert reason is not None
    assert reason.startswith("contested: ")
    assert any(e[0] == withdrawn for _, e in contested(led))
    with connection(led.admin_url, led.schema) as conn:
        [entry] = accounting(conn, ref)
    assert entry["disclosure_id"] == obj["disclosure_id"]
    assert entry["withdrawn"] is True
    assert entry["first_record_count"] == 47_289


def test_redating_into_warmup_is_contested(led: Ledger) -> None:
    office = f"Redated Office {uuid.uuid4().hex[:6]}"
    source, spike = spike_history(led, office)
    [redated] = send(led, [amend(spike, transmitted_at=at(D - timedelta(days=380)))])
    assert_contested_by(led, source, redated)


def test_relabelling_authority_is_contested(led: Ledger) -> None:
    stayed = f"Stayed Agency {uuid.uuid4().hex[:6]}"
    stay = order("STAY", stayed, utc(D - timedelta(days=5)))
    send(led, [stay])
    obj = disclosure(D, 500, stayed)
    [recorded] = send(led, [obj])
    assert statuses(led, "disclosure_during_stay", recorded)[0][0] == "open"
    [relabelled] = send(led, [amend(obj, legal_authority="26 U.S.C. 6103(k)(6)")])
    [(status, reason, cause)] = statuses(led, "disclosure_during_stay", recorded)
    assert (status, cause) == ("open", relabelled)
    assert reason is not None
    assert reason.startswith("contested: ")
    assert any(sev == "critical" and e[0] == relabelled for sev, e in contested(led))


def test_backdated_disclosure_does_not_outgrow_spikes(led: Ledger) -> None:
    office = f"Backdated Office {uuid.uuid4().hex[:6]}"
    source, _ = spike_history(led, office)
    backdated = disclosure(D - timedelta(days=200), 150_000, office, source=source)
    [late] = send(led, [backdated])
    assert_contested_by(led, source, late)
    [finding] = rows(
        led,
        "SELECT evidence FROM alerts WHERE rule = 'late_recording' AND evidence[1] = %s",
        (late,),
    )
    assert finding == ([late],)


def test_order_amendment_applies_from_amended_at(led: Ledger) -> None:
    sent = utc(D, 14)
    terms = order("NOTICE_REQUIREMENT", ICE, utc(D - timedelta(days=20)), bulk_threshold=1000)
    send(led, [terms, notice(sent - timedelta(hours=30), sent, 5000)])
    [recorded] = send(led, [disclosure(D, 3000, ICE, when=sent.isoformat())])
    assert statuses(led, "bulk_without_notice", recorded) == []  # 30 h notice, 24 h required
    longer = {
        "type": "CourtOrderAmended",
        "order_id": terms["order_id"],
        "amended_at": utc(D + timedelta(days=130)).isoformat(),
        "notice_hours": 72,
    }
    send(led, [longer])
    assert statuses(led, "bulk_without_notice", recorded) == []  # judged by the terms then
    assert run_replay(led.settings, show_progress=False).differences == []


def test_raised_threshold_does_not_resolve_bulk_alerts(led: Ledger) -> None:
    sent = utc(D, 14)
    terms = order("NOTICE_REQUIREMENT", ICE, utc(D - timedelta(days=20)), bulk_threshold=1000)
    send(led, [terms])
    [bulk] = send(led, [disclosure(D, 3000, ICE, when=sent.isoformat())])
    raised = {
        "type": "CourtOrderAmended",
        "order_id": terms["order_id"],
        "amended_at": utc(D + timedelta(days=1)).isoformat(),
        "bulk_threshold": 1_000_000,
    }
    send(led, [raised])
    assert statuses(led, "bulk_without_notice", bulk) == [("open", None, None)]


def test_vacatur_ab_initio_keeps_stay_violations(led: Ledger) -> None:
    stayed = f"Stayed Agency {uuid.uuid4().hex[:6]}"
    stay = order("STAY", stayed, utc(D - timedelta(days=5)))
    send(led, [stay])
    [during] = send(led, [disclosure(D, 10, stayed)])
    void = {
        "type": "CourtOrderVacated",
        "order_id": stay["order_id"],
        "vacated_at": utc(D + timedelta(days=3)).isoformat(),
        "ab_initio": True,
        "reason": "void from the start",
    }
    send(led, [void])
    assert statuses(led, "disclosure_during_stay", during) == [("open", None, None)]
    [after] = send(led, [disclosure(D + timedelta(days=4), 10, stayed)])
    assert statuses(led, "disclosure_during_stay", after) == []  # no longer in force
    assert run_replay(led.settings, show_progress=False).differences == []


def test_late_recording_is_a_finding(led: Ledger) -> None:
    source = f"Source {uuid.uuid4().hex[:6]}"
    office = f"Office {uuid.uuid4().hex[:6]}"
    send(led, [disclosure(D - timedelta(days=n), 10, office, source=source) for n in (90, 45, 0)])
    assert rows(led, "SELECT 1 FROM alerts WHERE rule = 'late_recording'") == []
    [late] = send(led, [disclosure(D - timedelta(days=60), 10, office, source=source)])
    [(observed, threshold, evidence)] = rows(
        led, "SELECT observed, threshold, evidence FROM alerts WHERE rule = 'late_recording'"
    )
    assert (observed, threshold, evidence) == (60, 30, [late])


def test_90_day_split_is_caught(led: Ledger) -> None:
    source = f"Source {uuid.uuid4().hex[:6]}"
    office = f"Split Office {uuid.uuid4().hex[:6]}"
    send(
        led,
        [
            disclosure(D - timedelta(days=400), 10, "Elsewhere", source=source),
            disclosure(D - timedelta(days=300), 1000, office, source=source),
        ],
    )
    # 100 records a week for twelve weeks: no day, week or month over the prior year's 1,000.
    send(
        led, [disclosure(D + timedelta(days=7 * k), 100, office, source=source) for k in range(12)]
    )
    found = rows(
        led,
        "SELECT a.day, a.observed, a.threshold, a.message FROM alerts a"
        " WHERE a.rule = 'sustained_over_prior_year' AND a.scope_kind = 'recipient'"
        " AND a.scope_value = %s",
        (office,),
    )
    [(day, observed, threshold, message)] = found
    assert (day, observed, threshold) == (D + timedelta(days=70), 1100, 1000)
    assert "in the 90 days" in message
    spike = "SELECT 1 FROM alerts WHERE rule = 'spike_over_prior_year' AND scope_value = %s"
    assert rows(led, spike, (office,)) == []


def test_request_recorded_after_the_transmission_is_contested(led: Ledger) -> None:
    request_id = f"R-{uuid.uuid4().hex[:8]}"
    obj = disclosure(D, 47_289, ICE, request_id=request_id)
    [recorded] = send(led, [obj])
    assert statuses(led, "request_incomplete", recorded)[0][0] == "open"  # no request on record
    late_request = {
        "type": "DisclosureRequested",
        "request_id": request_id,
        "source_agency": "IRS",
        "requesting_agency": ICE,
        "requesting_official": "(agency head)",
        "requesting_official_title": "Secretary of Homeland Security",
        "received_at": utc(D - timedelta(days=3)).isoformat(),  # claimed; recorded 12 days late
        "legal_authority": "26 U.S.C. 6103(i)(2)",
        "statutes": ["18 U.S.C. 1001"],
        "reasons": "Non-tax criminal investigation",
        "taxpayer_count": 47_289,
        "names_set_forth": 47_289,
        "addresses_set_forth": 47_289,
        "tins_set_forth": 47_289,
        "tax_periods": ["2024"],
        "recipient_address": "500 12th St SW, Washington, DC 20536",
    }
    [request] = send(led, [late_request])
    [(status, reason, cause)] = statuses(led, "request_incomplete", recorded)
    assert (status, cause) == ("open", request)
    assert reason is not None
    assert reason.startswith("contested: ")
    assert any(sev == "critical" and e[0] == request for sev, e in contested(led))


def test_acknowledgement_closes_a_contested_alert_and_only_a_contested_one(
    led: Ledger, tmp_path: Any
) -> None:
    """The original alert stays open until a person acknowledges it: `ledger alerts ack` (the
    installed command, as an official runs it) resolves a contested spike, naming who; an
    acknowledged alert that nothing contested stays open."""
    import shutil
    import subprocess

    from tests.integration.helpers import cli_env, wait_until

    office = f"Acked Office {uuid.uuid4().hex[:6]}"
    source, spike = spike_history(led, office)
    [lowered] = send(led, [amend(spike, record_count="4")])
    assert_contested_by(led, source, lowered)
    contested_id = spikes(led, source)[0][3]
    plain = f"Plain Office {uuid.uuid4().hex[:6]}"
    plain_source, _ = spike_history(led, plain)
    plain_id = spikes(led, plain_source)[0][3]
    cli = shutil.which("ledger") or "ledger"
    for alert_id in (contested_id, plain_id):
        done = subprocess.run(
            [cli, "alerts", "ack", alert_id, "--note", "reviewed"],
            env=cli_env(led),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr

    def status(alert_id: str) -> tuple[str, str]:
        [(s, reason)] = rows(
            led,
            "SELECT status, coalesce(status_reason, '') FROM alert_status WHERE alert_id = %s",
            (alert_id,),
        )
        return str(s), str(reason)

    wait_until(lambda: status(contested_id)[0] == "resolved", 60, "the acknowledged alert")
    assert status(contested_id)[1].startswith("acknowledged by ")
    wait_until(
        lambda: rows(led, "SELECT 1 FROM acknowledgements WHERE alert_id = %s", (plain_id,)),
        60,
        "the second acknowledgement",
    )
    assert status(plain_id)[0] == "open"  # nothing contested it: an acknowledgement is a note
    assert run_replay(led.settings, show_progress=False).differences == []
