"""The alert lifecycle as pure functions: reconcile, orders under their latest terms, amendments,
notices that cover only what they announced, and second recordings."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import EventValidationError
from ledger.events import CourtOrderAmended, CourtOrderVacated
from ledger.intake import build_event
from ledger.rules.amendments import Correction, corrected, parse_changes
from ledger.rules.config import load_rules_config
from ledger.rules.lifecycle import (
    OPEN,
    RESOLVED,
    StoredAlert,
    disclosure_verdicts,
    duplicate_alert,
    notice_use,
    reconcile,
)
from ledger.rules.model import AlertDraft, CourtOrderFacts, DisclosureFacts, NoticeFacts, Scope
from ledger.rules.model import Severity as Sev
from ledger.rules.orders import current_orders

CONFIG = load_rules_config()
REG = CONFIG.registry
NY = ZoneInfo("America/New_York")
SENT = datetime(2025, 9, 23, 18, 0, tzinfo=UTC)
I2 = "26 U.S.C. 6103(i)(2)"
CASE = "1:25-cv-00457-CKK"


def facts(**changes: object) -> DisclosureFacts:
    base = DisclosureFacts(
        event_id="e1",
        disclosure_id="D-1",
        source_agency="IRS",
        recipient_agency="ICE",
        legal_authority=I2,
        transmitted_at=SENT,
        day=SENT.astimezone(NY).date(),
        record_count=3000,
        match_method="NAME_DOB_ADDRESS",
        address_verification="VALID",
        notice_id=None,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


ORDER = CourtOrderFacts(
    event_id="o1",
    order_id="ORDER-1",
    case_reference=CASE,
    order_type="NOTICE_REQUIREMENT",
    effective_at=SENT - timedelta(days=10),
    expires_at=None,
    recipients=("ICE",),
    authorities=(I2,),
    bulk_threshold=1000,
    notice_hours=24,
)


def notice(expected: int = 5000, **changes: object) -> NoticeFacts:
    base = NoticeFacts(
        event_id="n1",
        notice_id="N-1",
        case_reference=CASE,
        filed_at=SENT - timedelta(hours=30),
        recipient_agency="ICE",
        legal_authority=I2,
        planned_start=SENT - timedelta(hours=2),
        planned_end=SENT + timedelta(hours=2),
        expected_record_count=expected,
        served_on=("Court", "Plaintiffs"),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def draft(alert_id: str, rule: str = "bulk_without_notice") -> AlertDraft:
    return AlertDraft(
        alert_id=alert_id,
        rule=rule,
        severity=Sev.CRITICAL,
        scope=Scope("recipient", "IRS", "ICE"),
        day=SENT.date(),
        observed=1,
        threshold=None,
        evidence=["e1"],
        legal_source="x",
        message="m",
    )


# --- reconcile ---------------------------------------------------------------------------


def test_reconcile_raises_reopens_and_resolves_and_leaves_the_rest() -> None:
    stored = [
        StoredAlert("a-open-due", "r", OPEN),
        StoredAlert("a-open-gone", "r", OPEN),
        StoredAlert("a-resolved-due", "r", RESOLVED),
        StoredAlert("a-resolved-gone", "r", RESOLVED),
    ]
    due = [draft("a-open-due"), draft("a-resolved-due"), draft("a-new")]
    result = reconcile(due, stored, "notice N-1 (event n1) was recorded")
    assert [d.alert_id for d in result.raised] == ["a-new"]
    assert [d.alert_id for d in result.reopened] == ["a-resolved-due"]
    assert [r.alert_id for r in result.resolved] == ["a-open-gone"]
    assert result.resolved[0].reason == "r no longer holds: notice N-1 (event n1) was recorded"


def test_reconcile_of_the_same_facts_twice_changes_nothing() -> None:
    assert not reconcile([draft("a")], [StoredAlert("a", "r", OPEN)], "again")


ids = st.sets(st.sampled_from("abcdefgh"))


@given(due=ids, open_=ids, resolved=ids)
def test_after_reconciling_exactly_the_due_alerts_are_open(
    due: set[str], open_: set[str], resolved: set[str]
) -> None:
    resolved -= open_
    stored = [StoredAlert(i, "r", OPEN) for i in open_] + [
        StoredAlert(i, "r", RESOLVED) for i in resolved
    ]
    result = reconcile([draft(i) for i in due], stored, "why")
    now_open = (open_ - {r.alert_id for r in result.resolved}) | {
        d.alert_id for d in [*result.raised, *result.reopened]
    }
    assert now_open == due
    assert not {d.alert_id for d in result.raised} & (open_ | resolved)  # never raised twice


# --- notices and orders ------------------------------------------------------------------


def verdict(d: DisclosureFacts, orders: list[CourtOrderFacts], notices: list[NoticeFacts], **kw):
    return [a.rule for a in disclosure_verdicts(d, orders, notices, CONFIG, **kw)]


def test_a_notice_must_be_in_the_orders_case_for_the_authority_and_served() -> None:
    d = facts()
    assert verdict(d, [ORDER], [notice()]) == []
    for wrong in (
        notice(case_reference="1:99-cv-00001"),
        notice(legal_authority="26 U.S.C. 6103(i)(1)"),
        notice(served_on=()),
    ):
        assert verdict(d, [ORDER], [wrong]) == ["bulk_without_notice"]


def test_a_notice_covers_only_the_record_count_it_announced_over_its_transmissions() -> None:
    first = facts(event_id="e1", record_count=3000)
    second = facts(event_id="e2", record_count=3000, transmitted_at=SENT + timedelta(minutes=5))
    n = notice(5000)
    assert notice_use(first, [n], [first, second], REG) == {"N-1": 0}
    assert notice_use(second, [n], [first, second], REG) == {"N-1": 3000}
    assert verdict(first, [ORDER], [n], notice_use={"N-1": 0}) == []
    assert verdict(second, [ORDER], [n], notice_use={"N-1": 3000}) == ["bulk_without_notice"]
    outside = facts(event_id="e0", transmitted_at=SENT - timedelta(hours=3))
    assert notice_use(second, [n], [outside], REG) == {"N-1": 0}  # not one it announced
    spelled = facts(event_id="e0", recipient_agency="U.S. Immigration and Customs Enforcement")
    assert notice_use(second, [n], [spelled], REG) == {"N-1": 3000}  # ICE by any spelling


def test_an_order_amendment_applies_from_amended_at_and_a_vacatur_keeps_what_stood() -> None:
    now = SENT + timedelta(days=1)
    amend = CourtOrderAmended(
        event_id="c1",
        occurred_at=now,
        recorded_by="t",
        order_id="ORDER-1",
        amended_at=now,
        bulk_threshold=5000,
        recipients=(),
    )
    before, amended = current_orders([ORDER], [amend])
    assert (before.bulk_threshold, before.expires_at) == (1000, now)
    assert (amended.bulk_threshold, amended.recipients, amended.effective_at) == (5000, (), now)
    # 3,000 records sent before the amendment: judged under the terms then in force.
    assert verdict(facts(), [before, amended], []) == ["bulk_without_notice"]
    later = facts(transmitted_at=now + timedelta(hours=1))
    assert verdict(later, [before, amended], []) == []  # below the amended threshold
    earlier = dataclasses.replace(amend, effective_at=ORDER.effective_at)  # the court said so
    [retro] = current_orders([ORDER], [earlier])
    assert verdict(facts(), [retro], []) == []

    ends = CourtOrderVacated(
        event_id="c2", occurred_at=now, recorded_by="t", order_id="ORDER-1", vacated_at=SENT
    )
    [ended] = current_orders([ORDER], [ends])
    assert ended.expires_at == SENT
    assert not ended.in_force(SENT)
    assert ended.in_force(SENT - timedelta(seconds=1))
    void = dataclasses.replace(ends, ab_initio=True)
    assert current_orders([ORDER], [void]) == [ended]  # collateral bar: what stood, stands
    other = dataclasses.replace(void, order_id="ORDER-2")
    assert current_orders([ORDER], [other]) == [ORDER]


# --- amendments ----------------------------------------------------------------------------


def test_changes_are_typed_and_a_bad_one_is_named_without_its_value() -> None:
    c = parse_changes(
        {
            "record_count": "40",
            "transmitted_at": "2025-09-25T10:00:00-04:00",
            "withdrawn": "false",
            "legal_authority": I2,
        }
    )
    assert c == Correction(
        record_count=40,
        legal_authority=I2,
        transmitted_at=datetime(2025, 9, 25, 14, 0, tzinfo=UTC),
        withdrawn=False,
    )
    moved = corrected(facts(), c, NY)
    assert (moved.record_count, moved.day.isoformat()) == (40, "2025-09-25")
    for changes, field in (
        ({"record_count": "-1"}, "record_count"),
        ({"record_count": "975004242x"}, "record_count"),
        ({"transmitted_at": "2025-09-25T10:00:00"}, "transmitted_at"),
        ({"transmitted_at": "1850-09-25T10:00:00+00:00"}, "transmitted_at"),
        ({"record_count": str(2**53 + 1)}, "record_count"),
        ({"withdrawn": "maybe"}, "withdrawn"),
        ({"recipient_agency": "  "}, "recipient_agency"),
    ):
        with pytest.raises(EventValidationError, match=f"changes.{field} must be") as info:
            parse_changes(changes)
        assert "975004242" not in str(info.value)  # the value is never echoed
    with pytest.raises(EventValidationError, match="changes names purpose, which cannot be"):
        parse_changes({"purpose": "x"})
    with pytest.raises(EventValidationError, match="name not shown"):
        parse_changes({"a975004242": "x"})
    with pytest.raises(EventValidationError, match="changes is empty"):
        parse_changes({})


def test_intake_refuses_an_amendment_with_changes_it_cannot_apply() -> None:
    amended = {
        "type": "DisclosureAmended",
        "disclosure_id": "D-1",
        "recipient_agency": "ICE",
        "reason": "typo",
        "changes": {"record_count": "twelve"},
    }
    with pytest.raises(EventValidationError, match=r"changes\.record_count must be a whole"):
        build_event(amended)
    assert build_event({**amended, "changes": {"record_count": "12"}}).changes == {
        "record_count": "12"
    }


def test_a_second_recording_names_both_event_ids() -> None:
    again = facts(event_id="e2")
    alert = duplicate_alert(again, "e1")
    assert (alert.rule, alert.severity, alert.evidence) == (
        "duplicate_disclosure",
        "warning",
        ["e2", "e1"],
    )
    assert alert.alert_id == duplicate_alert(again, "e1").alert_id  # redelivery: the same alert
    assert alert.alert_id != duplicate_alert(facts(event_id="e3"), "e1").alert_id


def test_a_resolution_webhook_says_which_alert_why_and_by_what() -> None:
    import json

    from ledger.events import AlertResolved
    from ledger.webhooks import resolution_payload

    event = AlertResolved(
        event_id="r1",
        occurred_at=SENT,
        recorded_by="ledger/volume",
        alert_id="a1",
        reason="bulk_without_notice no longer holds: notice N-1 (event n1) was recorded",
        resolved_by="n1",
        resolved_at=SENT,
    )
    body = json.loads(resolution_payload(event, 1_758_650_400))
    assert body["type"] == "ledger.alert.resolved"
    assert body["data"] == {
        "alert_id": "a1",
        "reason": event.reason,
        "resolved_by": "n1",
        "resolved_at": SENT.isoformat(),
    }
