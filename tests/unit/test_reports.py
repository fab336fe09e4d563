"""The reports' pure parts: authority grouping, the (p)(3)(C) table, a notice order's lines."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.cli.exit_codes import exit_code_of
from ledger.exit_codes import ExitCode
from ledger.ops.reports import ReportArgumentError, parse_year
from ledger.rules.config import load_registry, load_rules_config
from ledger.rules.model import NoticeFacts
from ledger.rules.order_verdicts import StoredVerdict, order_verdicts
from ledger.rules.reports import (
    SUBTOTAL_6103I,
    TOTALS,
    DisclosureTally,
    RequestTally,
    p3c_rows,
    report_authority,
    withheld_from_individual,
)
from tests.unit.test_rules import ORDER, SENT, facts, notice

ICE = "ICE"
REGISTRY = load_registry()
RULES = load_rules_config()
USAO = "U.S. Attorneys' Offices"
ICE_NAME = "U.S. Immigration and Customs Enforcement"


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("26 U.S.C. 6103(i)(2)", "(i)(2)"),
        ("26 usc §6103 (i)(2)", "(i)(2)"),
        ("26 U.S.C. 6103(j)(1)(A)", "(j)(1)(A)"),
        ("26 U.S.C. 6103(d)", "(d)"),
        ("5 U.S.C. 552a(b)(7)", "5 usc 552a(b)(7)"),
        ("IRC §6103(i)(3)(a)", "(i)(3)(A)"),
        ("", "(none cited)"),
        (None, "(none cited)"),
    ],
)
def test_reports_name_authorities_by_their_6103_subsection(text: str | None, label: str) -> None:
    assert report_authority(text) == label


@pytest.mark.parametrize(
    ("authority", "withheld"),
    [
        ("26 U.S.C. 6103(i)(2)", True),
        ("26 U.S.C. 6103(i)(1)", True),
        ("26 U.S.C. 6103(i)(3)(A)", True),
        ("26 U.S.C. 6103(d)", False),
        ("26 U.S.C. 6103(j)(1)(A)", False),
        ("", False),
    ],
)
def test_law_enforcement_entries_are_withheld_from_the_individual(
    authority: str, withheld: bool
) -> None:
    assert withheld_from_individual(authority) is withheld


def test_the_p3c_table_merges_spellings_counts_requests_and_totals() -> None:
    rows = p3c_rows(
        [
            DisclosureTally("US Attorneys", "26 U.S.C. 6103(i)(2)", 3, 100, 200),
            DisclosureTally("United States Attorneys", "26 usc 6103 (i)(2)", 1, 10, 10),
            DisclosureTally("US Attorneys", "26 U.S.C. 6103(i)(1)", 2, 50, 50),
            DisclosureTally(ICE, "26 U.S.C. 6103(i)(2)", 1, 47289, 94578),
        ],
        [
            RequestTally("US Attorneys", "26 U.S.C. 6103(i)(2)", 4),
            RequestTally(ICE, "26 U.S.C. 6103(i)(2)", 1),
            RequestTally("Some Office", None, 2),  # asked, nothing sent yet
        ],
        REGISTRY,
    )
    table = [
        (r.recipient, r.authority, r.requests, r.transmissions, r.records, r.disclosures)
        for r in rows
    ]
    assert table == [
        ("Some Office", "(none cited)", 2, 0, 0, 0),
        (USAO, "(i)(1)", 0, 2, 50, 50),
        (USAO, "(i)(2)", 4, 4, 110, 210),
        (ICE_NAME, "(i)(2)", 1, 1, 47289, 94578),
        (SUBTOTAL_6103I, "(i)", 5, 7, 47449, 94838),
        (TOTALS, "", 7, 7, 47449, 94838),
    ]


tallies_with_refs = st.lists(
    st.builds(
        DisclosureTally,
        st.sampled_from(["A", "B"]),
        st.sampled_from(["26 U.S.C. 6103(i)(2)", "26 U.S.C. 6103(i)(1)", "26 U.S.C. 6103(d)"]),
        st.integers(1, 5),
        st.integers(0, 1000),
        st.integers(0, 1000),
        unlisted=st.integers(0, 1),
        refs=st.frozensets(st.sampled_from("abcdef")),
    ),
    max_size=12,
)


@given(tallies_with_refs)
def test_the_6103i_subtotal_and_taxpayers_add_up(disclosed: list[DisclosureTally]) -> None:
    *body, subtotal, totals = p3c_rows(disclosed, [], REGISTRY)
    law = [d for d in disclosed if "(i)" in d.authority]
    assert subtotal.recipient == SUBTOTAL_6103I
    assert subtotal.records == sum(d.records for d in law)
    assert subtotal.transmissions == sum(d.transmissions for d in law)
    assert totals.refs == frozenset().union(*(d.refs for d in disclosed))
    assert len(totals.refs) <= sum(len(r.refs) for r in body)  # distinct, not summed
    for row in body:
        unknown = row.unlisted == row.transmissions
        assert (row.taxpayers is None) is unknown


tallies = st.lists(
    st.builds(
        DisclosureTally,
        st.sampled_from(["A", "B", "C"]),
        st.sampled_from(["26 U.S.C. 6103(i)(2)", "26 usc 6103(i)(2)", "26 U.S.C. 6103(d)"]),
        st.integers(1, 100),
        st.integers(0, 10**9),
        st.integers(0, 10**9),
    ),
    max_size=20,
)


@given(tallies)
def test_the_totals_row_is_the_sum_of_what_went_in(disclosed: list[DisclosureTally]) -> None:
    rows = p3c_rows(disclosed, [], REGISTRY)
    *body, totals = rows
    assert totals.recipient == TOTALS
    assert totals.records == sum(d.records for d in disclosed)
    assert totals.disclosures == sum(d.disclosures for d in disclosed)
    assert totals.transmissions == sum(d.transmissions for d in disclosed)
    assert len({(r.recipient, r.authority) for r in body}) == len(body)


def test_an_order_report_lists_covered_transmissions_with_lead_and_counts() -> None:
    on_time = facts(event_id="e1", disclosure_id="D-ok", notice_id="N-1", record_count=5000)
    late = facts(
        event_id="e2",
        disclosure_id="D-late",
        transmitted_at=SENT + timedelta(days=1),
        notice_id="N-2",
        record_count=7000,
    )
    # Below the threshold, alone on its day and outside every notice's window.
    small = facts(
        event_id="e3",
        disclosure_id="D-small",
        record_count=10,
        transmitted_at=SENT + timedelta(days=3),
        day=(SENT + timedelta(days=3)).date(),
    )
    other = facts(event_id="e4", disclosure_id="D-other", recipient_agency="FBI")
    next_day = SENT + timedelta(days=1)
    notices = [
        notice(timedelta(hours=25)),
        NoticeFacts(
            "n2",
            "N-2",
            "1:25-cv-00457-CKK",
            next_day - timedelta(hours=2),
            "ICE",
            ORDER.authorities[0],
            next_day - timedelta(hours=1),
            next_day + timedelta(hours=1),
            10_000,
            ("Court", "Plaintiffs"),
        ),
    ]
    by_agency = {"ICE": notices}
    stored = {"e2": StoredVerdict("a-late", "contested", "contested: notice recorded")}
    lines = order_verdicts(
        [ORDER], [ORDER], [late, small, on_time, other], by_agency, {}, stored, {}, RULES
    )
    # Every transmission the order covers, small ones too; FBI's is not covered.
    assert [line.disclosure.disclosure_id for line in lines] == ["D-ok", "D-late", "D-small"]
    ok, bad, tiny = lines
    assert ok.notice is not None
    assert ok.notice.facts.notice_id == "N-1"
    assert (ok.verdict, ok.lead, ok.notice.facts.expected_record_count) == (
        "complied",
        timedelta(hours=25),
        10_000,
    )
    assert (ok.alert_status, ok.agrees) == ("none", True)
    assert (tiny.verdict, tiny.notice, tiny.alert_status) == ("not bulk", None, "none")
    assert bad.notice is not None
    assert bad.notice.facts.notice_id == "N-2"
    assert (bad.verdict, bad.lead) == ("violation", timedelta(hours=2))
    assert bad.problem is not None
    assert "filed 2h00m before" in bad.problem
    # The rules raise an alert for it; the stored one is contested: open, so they agree.
    assert bad.alert_id is not None
    assert (bad.alert_status, bad.agrees) == ("contested", True)


@pytest.mark.parametrize("text", ["20x5", "25", "1899", "2201", " ", "２０２５"])
def test_a_year_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ReportArgumentError) as caught:
        parse_year(text)
    assert exit_code_of(caught.value) == ExitCode.USAGE


def test_a_calendar_year_is_accepted() -> None:
    assert parse_year("2025") == 2025
