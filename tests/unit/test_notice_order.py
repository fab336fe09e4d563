"""The notice order as the court wrote it, and requests that must precede: pure functions."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ledger.rules.config import load_rules_config
from ledger.rules.model import CourtOrderFacts, DisclosureFacts, NoticeFacts
from ledger.rules.notices import (
    bulk_notice_checks,
    day_records,
    service_problem,
    window_records,
)
from ledger.rules.orders import reaches
from ledger.rules.requests import RequestFacts, coverage_problems

I2 = "26 U.S.C. 6103(i)(2)"
SENT = datetime(2025, 9, 23, 18, 0, tzinfo=UTC)
REGISTRY = load_rules_config().registry
ORDER = CourtOrderFacts(
    event_id="o1",
    order_id="ORDER-1",
    case_reference="1:25-cv-00457-CKK",
    order_type="NOTICE_REQUIREMENT",
    effective_at=datetime(2025, 9, 5, tzinfo=UTC),
    expires_at=None,
    recipients=("ICE",),
    authorities=(I2,),
    bulk_threshold=1000,
    notice_hours=24,
)
BASE = DisclosureFacts(
    event_id="e0",
    disclosure_id="D-0",
    source_agency="IRS",
    recipient_agency="ICE",
    legal_authority=I2,
    transmitted_at=SENT,
    day=SENT.date(),
    record_count=999,
    match_method=None,
    address_verification="VALID",
    notice_id=None,
)
NOTICE = NoticeFacts(
    event_id="n1",
    notice_id="N-1",
    case_reference="1:25-cv-00457-CKK",
    filed_at=SENT - timedelta(hours=30),
    recipient_agency="ICE",
    legal_authority=I2,
    planned_start=SENT - timedelta(hours=1),
    planned_end=SENT + timedelta(hours=1),
    expected_record_count=10_000,
    served_on=("U.S. District Court for the District of Columbia", "Counsel for plaintiffs"),
)


def sent(n: int, records: int, minutes: int = 0, **changes: object) -> DisclosureFacts:
    return dataclasses.replace(
        BASE,
        event_id=f"e{n}",
        disclosure_id=f"D-{n}",
        record_count=records,
        transmitted_at=SENT + timedelta(minutes=minutes),
        **changes,
    )


@given(st.lists(st.integers(1, 999), min_size=1, max_size=12))
def test_a_day_is_summed_in_transmission_order(counts: list[int]) -> None:
    day = [sent(i, c, minutes=i) for i, c in enumerate(counts)]
    for i, d in enumerate(day):
        assert day_records(d, ORDER, day, REGISTRY) == sum(counts[: i + 1])
    flagged = [d for d in day if bulk_notice_checks(d, [ORDER], [], REGISTRY, same_day=day)]
    assert [d.event_id for d in flagged] == [
        d.event_id for i, d in enumerate(day) if sum(counts[: i + 1]) >= 1000
    ]


def test_another_recipient_or_day_is_not_summed() -> None:
    other = sent(1, 999, recipient_agency="FBI")
    yesterday = sent(2, 999, minutes=-24 * 60)
    yesterday = dataclasses.replace(yesterday, day=yesterday.transmitted_at.date())
    d = sent(3, 999, minutes=5)
    assert day_records(d, ORDER, [other, yesterday], REGISTRY) == 999


def test_a_notice_window_is_summed_too() -> None:
    d = sent(1, 600, notice_id="N-1")
    assert window_records(d, [NOTICE], {"N-1": 600}, REGISTRY) == 1200
    assert bulk_notice_checks(d, [ORDER], [NOTICE], REGISTRY, {"N-1": 600})


def verdict(d: DisclosureFacts, *notices: NoticeFacts) -> str | None:
    checks = bulk_notice_checks(d, [ORDER], list(notices), REGISTRY)
    assert len(checks) == 1
    return checks[0].problem


def test_service_on_the_court_and_the_plaintiffs() -> None:
    d = sent(1, 5000, notice_id="N-1")
    assert verdict(d, NOTICE) is None
    for served in [(), (" ", "\u200b"), ("ICE",), ("U.S. Immigration and Customs Enforcement",)]:
        bad = dataclasses.replace(NOTICE, served_on=served)
        assert service_problem(bad, d, REGISTRY)
        assert "not served on the court and the plaintiffs" in (verdict(d, bad) or "")
    court_only = dataclasses.replace(NOTICE, served_on=("Clerk of Court",))
    assert "not served on the plaintiffs" in (verdict(d, court_only) or "")
    lookalike = dataclasses.replace(NOTICE, served_on=("\u0421ourt", "Pl\u0430intiffs"))
    assert verdict(d, lookalike) is None  # Cyrillic letters read as what they look like


def test_the_cited_notice_alone_decides() -> None:
    good = dataclasses.replace(NOTICE, notice_id="N-good", event_id="n2")
    late = dataclasses.replace(NOTICE, filed_at=SENT - timedelta(hours=2))
    d = sent(1, 5000, notice_id="N-1")
    assert "2h00m before" in (verdict(d, late, good) or "")
    missing = sent(2, 5000, notice_id="N-none")
    assert "N-none" in (verdict(missing, good) or "")
    assert verdict(sent(3, 5000), good) is None  # citing none: any notice filed before it


def test_a_notice_covers_a_week_at_most_and_belongs_to_its_order() -> None:
    standing = dataclasses.replace(NOTICE, planned_end=SENT + timedelta(days=365))
    assert "window of 365 days" in (verdict(sent(1, 5000, notice_id="N-1"), standing) or "")
    later = dataclasses.replace(ORDER, order_id="ORDER-2", effective_at=SENT - timedelta(hours=2))
    checks = bulk_notice_checks(sent(2, 5000, notice_id="N-1"), [later], [NOTICE], REGISTRY)
    assert checks[0].problem is not None
    assert "not in force" in checks[0].problem


def request(**changes: object) -> RequestFacts:
    base = RequestFacts(
        event_id="r1",
        request_id="R-1",
        requesting_agency="ICE",
        recipient_agency="ICE",
        requesting_official="Director",
        requesting_official_title="Director",
        received_at=SENT - timedelta(days=3),
        legal_authority=I2,
        statutes=("8 U.S.C. 1253",),
        reasons="r",
        taxpayer_count=10,
        names_set_forth=10,
        addresses_set_forth=10,
        tins_set_forth=10,
        tax_periods=("2024",),
    )
    return dataclasses.replace(base, **changes)


def test_a_request_must_precede_and_cover_the_transmission() -> None:
    assert coverage_problems(request(), SENT, 10, ("2024",)) == []
    late = coverage_problems(request(received_at=SENT + timedelta(days=12)), SENT, 10, ("2024",))
    assert late == ["request R-1 was received 12 days 0 hours after the transmission"]
    more = coverage_problems(request(), SENT, 47_289, ("2019", "2024"))
    assert more == [
        "request R-1 names 10 taxpayers, not 47,289",
        "request R-1 does not name tax period(s) 2019",
    ]


def test_orders_reach_the_requesting_agency_parents_and_unknown_recipients() -> None:
    to_hq = sent(1, 5000, recipient_agency="Department of Homeland Security")
    assert reaches(ORDER, to_hq, REGISTRY)  # DHS headquarters may route it on to ICE
    assert reaches(ORDER, sent(2, 5000, recipient_agency="Office of Nobody"), REGISTRY)
    assert not reaches(ORDER, sent(3, 5000, recipient_agency="FBI"), REGISTRY)
    cbp = sent(4, 5000, recipient_agency="CBP", request_id="R-1")
    assert not reaches(ORDER, cbp, REGISTRY, {})
    assert reaches(ORDER, cbp, REGISTRY, {"R-1": request()})
