"""The compliance rules end to end through Kafka and PostgreSQL, and replayed to the same alerts."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from consumers.service import start_consumers
from ledger.ops.replay_command import run_replay
from tests.integration.helpers import at, caught_up, disclosure, emit, isolated_ledger, rows

pytestmark = pytest.mark.integration

D = date(2025, 9, 23)
ICE = "U.S. Immigration and Customs Enforcement"
I2 = "26 U.S.C. 6103(i)(2)"


def order(
    order_type: str, recipient: str, effective: str, expires: str | None, **extra: Any
) -> dict[str, Any]:
    return {
        "type": "CourtOrderRecorded",
        "order_id": f"O-{uuid.uuid4().hex[:8]}",
        "case_reference": "1:25-cv-00457",
        "court": "U.S. District Court for the District of Columbia",
        "order_type": order_type,
        "entered_at": effective,
        "effective_at": effective,
        "expires_at": expires,
        "recipients": [recipient],
        "authorities": [I2],
        "bulk_threshold": None,
        "notice_hours": 24,
        "description": f"{order_type} for the test",
        **extra,
    }


def notice(notice_id: str, filed: datetime, transmitted: datetime, expected: int) -> dict[str, Any]:
    return {
        "type": "NoticeFiled",
        "notice_id": notice_id,
        "case_reference": "1:25-cv-00457",
        "filed_at": filed.isoformat(),
        "served_on": ["Court", "Plaintiffs"],
        "recipient_agency": ICE,
        "legal_authority": I2,
        "planned_transmission_start": (transmitted - timedelta(hours=1)).isoformat(),
        "planned_transmission_end": (transmitted + timedelta(hours=1)).isoformat(),
        "expected_record_count": expected,
    }


def test_each_rule_fires_through_the_real_pipeline_and_replays_to_the_same_alerts(
    ledger_settings,
) -> None:
    led = isolated_ledger(ledger_settings, "rules")
    t_ok = datetime.fromisoformat(at(D, 14))
    t_late = datetime.fromisoformat(at(D + timedelta(days=1), 14))
    steady = [
        disclosure(D - timedelta(days=d), 100, "Steady Recipient", authority="26 U.S.C. 6103(i)(1)")
        for d in range(30, 0, -1)
    ]
    events = [
        *steady,
        order("NOTICE_REQUIREMENT", ICE, at(D - timedelta(days=20), 9), None, bulk_threshold=1000),
        order("STAY", "Stayed Agency", at(D - timedelta(days=5), 9), at(D + timedelta(days=5), 9)),
        notice("N-24h", t_ok - timedelta(hours=24), t_ok, 5000),
        notice("N-23h59", t_late - timedelta(hours=23, minutes=59), t_late, 5000),
    ]
    emit(led, events)
    on_time = disclosure(D, 3000, ICE, when=t_ok.astimezone(UTC).isoformat(), notice_id="N-24h")
    too_late = disclosure(
        D + timedelta(days=1),
        3000,
        ICE,
        when=t_late.astimezone(UTC).isoformat(),
        notice_id="N-23h59",
    )
    during_stay = disclosure(D, 10, "Stayed Agency")
    after_stay = disclosure(D + timedelta(days=6), 10, "Stayed Agency")
    unknown_authority = disclosure(D, 5, "Some Office", authority="26 U.S.C. 6103(z)(9)")
    placeholder = disclosure(D, 42, ICE, address_verification="PLACEHOLDER")
    anomaly = disclosure(D, 2000, "Steady Recipient", authority="26 U.S.C. 6103(i)(1)")
    checked = [on_time, too_late, during_stay, after_stay, unknown_authority, placeholder, anomaly]
    sent = emit(led, checked)
    ids = {o["disclosure_id"]: str(e.event_id) for o, e in zip(checked, sent, strict=True)}

    running = start_consumers(led)
    try:
        caught_up(led)
    finally:
        running.stop()

    def fired(rule: str, obj: dict[str, Any]) -> bool:
        found = rows(
            led,
            "SELECT count(*) FROM alerts WHERE rule = %s AND %s = ANY(evidence)",
            (rule, ids[obj["disclosure_id"]]),
        )
        return found[0][0] > 0

    assert not fired("bulk_without_notice", on_time)  # filed exactly 24h00m before
    assert fired("bulk_without_notice", too_late)  # 23h59m before
    message = rows(led, "SELECT message FROM alerts WHERE rule = 'bulk_without_notice'")[0][0]
    assert "23h59m" in message
    assert fired("disclosure_during_stay", during_stay)
    assert not fired("disclosure_during_stay", after_stay)
    assert fired("missing_legal_authority", unknown_authority)
    assert fired("request_incomplete", placeholder)
    assert not fired("request_incomplete", on_time)
    assert fired("statistical_anomaly", anomaly)
    legal_sources = rows(
        led,
        "SELECT DISTINCT legal_source FROM alerts WHERE rule <> 'new_recipient'"
        " AND rule <> 'new_authority'",
    )
    assert all(src for (src,) in legal_sources)

    before = rows(led, "SELECT alert_id, rule FROM alerts ORDER BY alert_id")
    result = run_replay(led.settings, show_progress=False)
    assert result.differences == []
    assert result.equal
    assert rows(led, "SELECT alert_id, rule FROM alerts ORDER BY alert_id") == before
