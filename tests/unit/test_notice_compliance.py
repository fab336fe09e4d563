"""The dashboard's notice-compliance panel shows the order report's lines: the judgement the
alerts come from, so the panel, the report and the alerts agree."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from ledger.ops.order_reports import OrderReport
from ledger.rules.config import load_rules_config
from ledger.rules.model import CourtOrderFacts, DisclosureFacts, NoticeFacts
from ledger.rules.order_verdicts import COMPLIED, VIOLATION, Verdict, order_verdicts
from ledger.web.notices import notice_table, panel_lines

I2 = "26 U.S.C. 6103(i)(2)"
I1 = "26 U.S.C. 6103(i)(1)"
SENT = datetime(2025, 9, 23, 18, 0, tzinfo=UTC)
CONFIG = load_rules_config()
REGISTRY = CONFIG.registry
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


def report(
    transmissions: list[DisclosureFacts],
    notices: list[NoticeFacts],
    order: CourtOrderFacts = ORDER,
) -> OrderReport:
    """The order's report over these transmissions, as `ledger report order` builds it."""
    by_recipient: dict[str, list[NoticeFacts]] = {}
    for n in notices:
        by_recipient.setdefault(REGISTRY.agency(n.recipient_agency).id, []).append(n)
    lines = order_verdicts([order], [ORDER, STAY], transmissions, by_recipient, {}, {}, {}, CONFIG)
    return OrderReport(order, None, [], {}, [order], lines, [])


def panel(transmissions: list[DisclosureFacts], notices: list[NoticeFacts]) -> list[Verdict]:
    lines, cut = panel_lines([report(transmissions, notices), report(transmissions, [], STAY)], 50)
    assert not cut
    return lines


@pytest.mark.parametrize(("d", "notices", "verdict"), CASES, ids=[c[0].event_id for c in CASES])
def test_panel_rows_follow_the_rule(
    d: DisclosureFacts, notices: list[NoticeFacts], verdict: str | None
) -> None:
    lines = panel([d], notices)
    if verdict is None:
        assert lines == []
        return
    [line] = lines
    assert line.disclosure == d
    assert line.terms == ORDER
    if verdict == "complied":
        assert line.verdict == COMPLIED
        assert line.notice is not None
    else:
        assert line.verdict == VIOLATION
        assert verdict in (line.problem or "")


@pytest.mark.parametrize(("d", "notices", "verdict"), CASES, ids=[c[0].event_id for c in CASES])
def test_the_panel_shows_exactly_the_reports_bulk_lines(
    d: DisclosureFacts, notices: list[NoticeFacts], verdict: str | None
) -> None:
    full = report([d], notices).lines
    assert panel([d], notices) == [line for line in full if line.verdict != "not bulk"]


def test_a_day_split_under_the_threshold_is_shown_as_the_alert_judges_it() -> None:
    """Two transmissions of 600 on one day: neither is bulk alone; the second makes the day
    bulk (1,200), and it is the violation, as the alert says. The first stays in the report."""
    first = disclosure("first", record_count=600)
    second = disclosure("second", record_count=600, transmitted_at=SENT + timedelta(hours=2))
    assert [(v.disclosure.event_id, v.verdict) for v in panel([first, second], [])] == [
        ("second", VIOLATION)
    ]
    assert [v.verdict for v in report([first, second], []).lines] == ["not bulk", VIOLATION]


def test_a_notice_covers_only_what_it_announced() -> None:
    """A notice announcing 10,000 records: 6,000 then 6,000 in its window; the second is over."""
    n = notice("N-25h", timedelta(hours=25))
    first = disclosure("first", record_count=6000)
    second = disclosure("second", record_count=6000, transmitted_at=SENT + timedelta(minutes=5))
    assert [v.verdict for v in panel([first, second], [n])] == [COMPLIED, VIOLATION]


def test_the_table_shows_verdict_notice_lead_and_alert() -> None:
    lines = panel(
        [disclosure("noticed"), disclosure("plain", legal_authority="<b>")],
        [notice("N-25h", timedelta(hours=25, minutes=5))],
    )
    html = notice_table(lines)
    assert html.count("<tr class=notice-row>") == 1  # "<b>" is no authority of the order
    assert (
        "<td>N-25h</td><td>25h05m</td><td><span class=ok>complied</span></td><td>none</td>" in html
    )
    late = panel([disclosure("x")], [notice("N<1>", timedelta(hours=2))])
    html = notice_table(late, cut=True)
    assert "N&lt;1&gt;" in html
    assert "<td>2h00m</td><td><span class=crit title='notice N&lt;1&gt; was filed 2h00m" in html
    assert "Showing the latest 1 bulk transmissions;" in html


def test_the_panel_keeps_the_latest_lines_and_says_so() -> None:
    sent = [disclosure(f"d{i}", transmitted_at=SENT + timedelta(days=i)) for i in range(5)]
    lines, cut = panel_lines([report(sent, [])], 3)
    assert cut
    assert [v.disclosure.event_id for v in lines] == ["d2", "d3", "d4"]
