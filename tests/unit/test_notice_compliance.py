"""The dashboard's notice-compliance panel judges with the rule's own code, so they agree."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from ledger.rules.compliance import BulkWithoutNotice
from ledger.rules.config import load_rules_config
from ledger.rules.model import CourtOrderFacts, DisclosureFacts, NoticeFacts, RuleContext
from ledger.web.notices import bulk_bounds, notice_rows, notice_table

I2 = "26 U.S.C. 6103(i)(2)"
I1 = "26 U.S.C. 6103(i)(1)"
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
STAY = dataclasses.replace(ORDER, event_id="o2", order_id="STAY-1", order_type="STAY")


def disclosure(event_id: str, **changes: object) -> DisclosureFacts:
    base = DisclosureFacts(
        event_id=event_id,
        disclosure_id=f"D-{event_id}",
        source_agency="IRS",
        recipient_agency="ICE",
        legal_authority=I2,
        transmitted_at=SENT,
        day=SENT.date(),
        record_count=5000,
        match_method=None,
        address_verification="VALID",
        notice_id=None,
    )
    return dataclasses.replace(base, **changes)


def notice(notice_id: str, lead: timedelta, recipient: str = "ICE") -> NoticeFacts:
    return NoticeFacts(
        event_id=f"n-{notice_id}",
        notice_id=notice_id,
        case_reference="1:25-cv-00457-CKK",
        filed_at=SENT - lead,
        recipient_agency=recipient,
        legal_authority=I2,
        planned_start=SENT - timedelta(hours=1),
        planned_end=SENT + timedelta(hours=1),
        expected_record_count=10_000,
        served_on=("Court", "Plaintiffs"),
    )


CASES = [
    # (disclosure, notices, expected verdict: None = the order does not cover it)
    (disclosure("plain"), [], "no notice was filed for ICE before the transmission"),
    (disclosure("other-authority", legal_authority=I1), [], None),
    (disclosure("spelt-otherwise", legal_authority="26 usc §6103 (i)(2)"), [], "no notice"),
    (disclosure("small", record_count=999), [], None),
    (disclosure("threshold", record_count=1000), [], "no notice"),
    (
        disclosure("other-recipient", recipient_agency="FBI"),
        [notice("F", timedelta(hours=30), "FBI")],
        None,
    ),
    (disclosure("before-order", transmitted_at=datetime(2025, 9, 4, tzinfo=UTC)), [], None),
    (disclosure("noticed"), [notice("N-25h", timedelta(hours=25))], "complied"),
    (disclosure("late"), [notice("N-23h59", timedelta(hours=23, minutes=59))], "23h59m before"),
    (disclosure("other-recipients-notice"), [notice("F", timedelta(hours=30), "FBI")], "no notice"),
]


@pytest.mark.parametrize(("d", "notices", "verdict"), CASES, ids=[c[0].event_id for c in CASES])
def test_panel_rows_follow_the_rule(
    d: DisclosureFacts, notices: list[NoticeFacts], verdict: str | None
) -> None:
    rows = notice_rows([d], [ORDER, STAY], notices, REGISTRY)
    if verdict is None:
        assert rows == []
        return
    [row] = rows
    assert row.disclosure == d
    assert row.check.order == ORDER
    if verdict == "complied":
        assert row.check.complied
        assert row.check.notice is not None
    else:
        assert not row.check.complied
        assert verdict in (row.check.problem or "")


@pytest.mark.parametrize(("d", "notices", "verdict"), CASES, ids=[c[0].event_id for c in CASES])
def test_the_panel_and_the_alert_never_disagree(
    d: DisclosureFacts, notices: list[NoticeFacts], verdict: str | None
) -> None:
    orders_in_force = [o for o in (ORDER, STAY) if o.in_force(d.transmitted_at)]
    context = RuleContext(d, {}, SENT.date(), orders_in_force, notices, load_rules_config())
    alerts = BulkWithoutNotice().evaluate(context)
    failing = [
        r.check for r in notice_rows([d], [ORDER, STAY], notices, REGISTRY) if not r.check.complied
    ]
    assert [a.message.split("without valid notice: ")[1] for a in alerts] == [
        f"{c.problem}." for c in failing
    ]


def test_the_table_shows_verdict_notice_and_lead() -> None:
    rows = notice_rows(
        [disclosure("noticed"), disclosure("plain", legal_authority="<b>")],
        [ORDER],
        [notice("N-25h", timedelta(hours=25, minutes=5))],
        REGISTRY,
    )
    html = notice_table(rows)
    assert html.count("<tr class=notice-row>") == 1  # "<b>" is no authority of the order
    assert "<td>N-25h</td><td>25h05m</td><td><span class=ok>complied</span>" in html
    late = notice_rows([disclosure("x")], [ORDER], [notice("N<1>", timedelta(hours=2))], REGISTRY)
    html = notice_table(late, cut=True)
    assert "N&lt;1&gt;" in html
    assert "<td>2h00m</td><td><span class=crit title='notice N&lt;1&gt; was filed 2h00m" in html
    assert "Showing the latest 1 bulk transmissions." in html


def test_bounds_pass_every_disclosure_an_order_could_cover() -> None:
    assert bulk_bounds([STAY]) is None
    bounds = bulk_bounds([ORDER, STAY])
    assert bounds is not None
    assert (bounds.since, bounds.until, bounds.min_records) == (ORDER.effective_at, None, 1000)
    assert bounds.recipients is None  # coverage is by canonical id: the rule decides per row
    ends = datetime(2026, 1, 1, tzinfo=UTC)
    anyone = dataclasses.replace(ORDER, recipients=(), bulk_threshold=None, expires_at=ends)
    wider = bulk_bounds([dataclasses.replace(ORDER, expires_at=SENT), anyone])
    assert wider is not None
    assert (wider.until, wider.min_records, wider.recipients) == (ends, 0, None)
