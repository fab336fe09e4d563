"""Rules over canonical scopes: sustained windows, new scopes by size, ancestry of orders."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest

from ledger.rules import evaluate_all
from ledger.rules.compliance import DisclosureDuringStay, RequestIncomplete, UnknownRecipient
from ledger.rules.model import RuleContext, Scope, ScopeWindow
from ledger.rules.volume_book import Trailing
from ledger.rules.volume_rules import SpikeOverPriorYear, SustainedOverPriorYear
from tests.unit.test_rules import CONFIG, ORDER, facts

DAY = facts().day
OLD = date(2020, 1, 1)  # a coverage start long past: warmed up


def window(
    scope: Scope,
    day_records: int = 100,
    prior: int = 1000,
    prior_disclosures: int = 10,
    *,
    own: bool = True,
    sustained: Trailing | None = None,
) -> ScopeWindow:
    return ScopeWindow(scope, DAY, day_records, 1, prior, prior_disclosures, [], own, sustained)


def ctx(windows: list[ScopeWindow], coverage: date = OLD, **changes: object) -> RuleContext:
    return RuleContext(facts(**changes), windows, coverage, [], [], CONFIG)


DOJ = Scope("recipient", "IRS", "DOJ")
EXCESS = Trailing(7, DAY, 47_289, 40_673, 180)


def test_sustained_fires_on_an_episode_start_with_the_window_as_observed() -> None:
    (alert,) = SustainedOverPriorYear().evaluate(
        ctx([window(DOJ, 11_589, 40_833, sustained=EXCESS)])
    )
    assert (alert.rule, alert.severity, alert.observed, alert.threshold) == (
        "sustained_over_prior_year",
        "critical",
        47_289,
        40_673,
    )
    assert str(alert.scope) == "IRS -> recipient DOJ"
    assert f"in the 7 days {DAY - timedelta(days=6)} to {DAY}" in alert.message


def test_sustained_is_silent_without_a_start_while_warming_up_and_on_a_spike_day() -> None:
    rule = SustainedOverPriorYear()
    assert rule.evaluate(ctx([window(DOJ)])) == []
    assert rule.evaluate(ctx([window(DOJ, sustained=EXCESS)], coverage=DAY)) == []
    spike_day = window(DOJ, 50_000, 40_833, sustained=EXCESS)
    assert rule.evaluate(ctx([spike_day])) == []
    assert [a.rule for a in SpikeOverPriorYear().evaluate(ctx([spike_day]))] == [
        "spike_over_prior_year"
    ]


def test_sustained_runs_at_every_scope_ancestors_and_pairs_included() -> None:
    scopes = [
        Scope("recipient", "IRS", "FBI"),
        DOJ,
        Scope("authority", "IRS", "6103(i)(2)"),
        Scope("authority", "IRS", "6103(i)"),
        Scope("pair", "IRS", "FBI under 6103(i)(2)"),
        Scope("source", "IRS", ""),
    ]
    windows = [window(s, own=s.value in ("FBI", "6103(i)(2)"), sustained=EXCESS) for s in scopes]
    fired = SustainedOverPriorYear().evaluate(ctx(windows))
    assert [str(a.scope) for a in fired] == [
        "IRS -> recipient FBI",
        "IRS -> recipient DOJ",
        "IRS -> authority 6103(i)(2)",
        "IRS -> authority 6103(i)",
        "IRS -> FBI under 6103(i)(2)",
        "IRS",
    ]


@pytest.mark.parametrize(("records", "severity"), [(10_000, "info"), (10_001, "critical")])
def test_a_new_recipient_is_critical_above_the_threshold(records: int, severity: str) -> None:
    new = window(Scope("recipient", "IRS", "FBI"), records, 0, 0)
    (alert,) = SpikeOverPriorYear().evaluate(ctx([new]))
    assert (alert.rule, alert.severity) == ("new_recipient", severity)
    info = SpikeOverPriorYear().evaluate(ctx([new._replace(day_records=1)]))[0]
    assert (alert.alert_id == info.alert_id) is (severity == "info")  # growing past it: a 2nd


def test_new_scope_fires_only_at_the_own_scope_and_not_while_warming_up() -> None:
    parent = window(DOJ, 5, 0, 0, own=False)
    family = window(Scope("authority", "IRS", "6103(i)"), 5, 0, 0, own=False)
    assert SpikeOverPriorYear().evaluate(ctx([parent, family])) == []
    own = window(Scope("recipient", "IRS", "FBI"), 5, 0, 0)
    assert SpikeOverPriorYear().evaluate(ctx([own], coverage=DAY)) == []
    assert len(SpikeOverPriorYear().evaluate(ctx([own]))) == 1


def test_a_stay_naming_a_parent_agency_or_family_covers_the_disclosure() -> None:
    stay = dataclasses.replace(
        ORDER, order_type="STAY", recipients=("Department of Homeland Security",), authorities=()
    )

    def during(order: object, **changes: object) -> list[str]:
        context = dataclasses.replace(ctx([], **changes), orders_in_force=[order])
        return [str(a.scope) for a in DisclosureDuringStay().evaluate(context)]

    ice = {"recipient_agency": "U.S. Immigration and Customs Enforcement"}
    assert during(stay, **ice) == ["IRS -> recipient ICE"]
    assert during(stay, recipient_agency="FBI") == []
    family = dataclasses.replace(stay, recipients=(), authorities=("26 USC 6103(i)",))
    assert during(family, legal_authority="IRC § 6103(i)(2)(A)") == ["IRS -> recipient ICE"]
    assert during(family, legal_authority="6103(d)") == []
    narrower = dataclasses.replace(family, authorities=("6103(i)(2)(A)",))
    assert not narrower.covers("ICE", "6103(i)(2)", CONFIG.registry)  # a child does not cover
    assert narrower.covers("ICE", "26 U.S.C. 6103(i)(2)(a)", CONFIG.registry)


def test_request_incomplete_covers_subparagraphs_of_6103_i_2() -> None:
    d = {"legal_authority": "I.R.C. 6103(i)(2)(A)", "address_verification": "PLACEHOLDER"}
    assert len(RequestIncomplete().evaluate(ctx([], **d))) == 1


def test_an_unknown_recipient_is_a_warning_counted_under_its_text() -> None:
    (alert,) = UnknownRecipient().evaluate(ctx([], recipient_agency="Office  of Nobody"))
    assert (alert.rule, alert.severity, str(alert.scope)) == (
        "unknown_recipient",
        "warning",
        "IRS -> recipient Office of Nobody",
    )
    assert UnknownRecipient().evaluate(ctx([])) == []
    assert "unknown_recipient" not in {a.rule for a in evaluate_all(ctx([]))}


def test_a_notice_under_another_spelling_of_the_recipient_counts() -> None:
    from ledger.rules.compliance import BulkWithoutNotice
    from tests.unit.test_rules import notice

    spelt = {"recipient_agency": "U.S. Immigration and Customs Enforcement"}
    filed = dataclasses.replace(notice(timedelta(hours=25)), recipient_agency="ICE")
    context = dataclasses.replace(ctx([], **spelt), orders_in_force=[ORDER], notices=[filed])
    assert BulkWithoutNotice().evaluate(context) == []
    other = dataclasses.replace(filed, recipient_agency="FBI")
    late = BulkWithoutNotice().evaluate(dataclasses.replace(context, notices=[other]))
    assert "no notice was filed" in late[0].message
