"""Each rule at its boundaries, as pure functions over (event, state)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumers.audit_log import render_json
from ledger.errors import ConfigError
from ledger.events import CourtOrderRecorded, DisclosureRecorded, NoticeFiled
from ledger.rules import evaluate_all
from ledger.rules.compliance import (
    BulkWithoutNotice,
    DisclosureDuringStay,
    MissingLegalAuthority,
    RequestIncomplete,
)
from ledger.rules.config import load_rules_config
from ledger.rules.model import (
    CourtOrderFacts,
    DisclosureFacts,
    LogScope,
    NoticeFacts,
    RuleContext,
    Scope,
    ScopeWindow,
    alert_id,
)
from ledger.rules.volume_rules import SPIKE, SpikeOverPriorYear, StatisticalAnomaly, warming_up

CONFIG = load_rules_config()
NY = ZoneInfo("America/New_York")
SENT = datetime(2025, 9, 23, 18, 0, tzinfo=UTC)
I2 = "26 U.S.C. 6103(i)(2)"
I2_ID = "6103(i)(2)"


def facts(**changes) -> DisclosureFacts:
    base = DisclosureFacts(
        event_id="e1",
        disclosure_id="D-1",
        source_agency="IRS",
        recipient_agency="ICE",
        legal_authority=I2,
        transmitted_at=SENT,
        day=SENT.astimezone(NY).date(),
        record_count=5000,
        match_method="NAME_DOB_ADDRESS",
        address_verification="VALID",
        notice_id=None,
    )
    return dataclasses.replace(base, **changes)


def window(
    kind: str, day_records: int, prior: int, prior_disclosures: int = 10, trailing=(), day=None
) -> ScopeWindow:
    return ScopeWindow(
        Scope(kind, "IRS", {"recipient": "ICE", "authority": I2_ID}.get(kind, "")),
        day or SENT.date(),
        day_records,
        1,
        prior,
        prior_disclosures,
        list(trailing),
    )


def ctx(
    d: DisclosureFacts | None = None,
    windows=None,
    orders=(),
    notices=(),
    coverage=date(2020, 1, 1),
    config=CONFIG,
):
    d = d or facts()
    if isinstance(windows, dict):  # by kind, each the disclosure's own scope
        windows = list(windows.values())
    return RuleContext(d, list(windows or []), coverage, list(orders), list(notices), config)


# --- spike_over_prior_year -------------------------------------------------------------


@pytest.mark.parametrize(("day_records", "fires"), [(1000, False), (1001, True)])
def test_spike_fires_on_one_more_than_the_prior_year_not_on_equal(
    day_records: int, fires: bool
) -> None:
    drafts = SpikeOverPriorYear().evaluate(
        ctx(windows={"recipient": window("recipient", day_records, 1000)})
    )
    assert [d.rule for d in drafts] == (["spike_over_prior_year"] if fires else [])
    if fires:
        assert (drafts[0].observed, drafts[0].threshold, drafts[0].evidence) == (1001, 1000, ["e1"])


def test_warm_up_is_exactly_365_days_from_coverage_start() -> None:
    start = date(2024, 8, 6)
    assert warming_up(start, start + timedelta(days=364))
    assert not warming_up(start, start + timedelta(days=365))
    for offset, fires in ((364, False), (365, True)):
        day = start + timedelta(days=offset)
        w = {"source": window("source", 10, 1, day=day)}
        assert bool(SpikeOverPriorYear().evaluate(ctx(windows=w, coverage=start))) is fires


def test_no_history_fires_new_scope_not_a_spike_and_is_silent_while_warming_up() -> None:
    w = {
        "recipient": window("recipient", 10, 0, prior_disclosures=0),
        "authority": window("authority", 10, 0, prior_disclosures=0),
        "source": window("source", 10, 0, prior_disclosures=0),
    }
    drafts = SpikeOverPriorYear().evaluate(ctx(windows=w))
    assert sorted((d.rule, d.severity) for d in drafts) == [
        ("new_authority", "info"),
        ("new_recipient", "info"),
    ]
    assert SpikeOverPriorYear().evaluate(ctx(windows=w, coverage=SENT.date())) == []


@given(st.integers(0, 10**9), st.integers(0, 10**9))
def test_spike_is_exactly_day_greater_than_prior(day_records: int, prior: int) -> None:
    drafts = SpikeOverPriorYear().evaluate(
        ctx(windows={"source": window("source", day_records, prior)})
    )
    assert bool(drafts) is (day_records > prior)


def test_alert_ids_are_deterministic_per_rule_scope_day() -> None:
    a = alert_id("spike_over_prior_year", "IRS", date(2025, 8, 7))
    assert a == alert_id("spike_over_prior_year", "IRS", date(2025, 8, 7))
    assert a != alert_id("spike_over_prior_year", "IRS", date(2025, 8, 8))
    assert a != alert_id("new_recipient", "IRS", date(2025, 8, 7))
    one = SpikeOverPriorYear().evaluate(ctx(windows={"source": window("source", 5, 1)}))
    two = SpikeOverPriorYear().evaluate(
        ctx(facts(event_id="e2"), windows={"source": window("source", 6, 1)})
    )
    assert one[0].alert_id == two[0].alert_id


def test_scope_text_and_alert_ids_keep_their_stored_format() -> None:
    """alerts.scope and alert ids as the code before typed scopes made them (commit 669e244)."""
    ice = Scope("recipient", "Internal Revenue Service", "U.S. Immigration and Customs Enforcement")
    irs = Scope("source", "Internal Revenue Service", "")
    assert (
        str(ice) == "Internal Revenue Service -> recipient U.S. Immigration and Customs Enforcement"
    )
    assert str(irs) == "Internal Revenue Service"
    assert str(Scope("authority", "IRS", I2)) == f"IRS -> authority {I2}"
    assert str(LogScope("ledger.disclosures", 2)) == "ledger.disclosures/2"
    day = date(2025, 8, 7)
    assert alert_id(SPIKE, ice, day) == "c7c8938d-d7ad-56f5-a959-9181ac76fe0a"
    assert alert_id(SPIKE, irs, day) == "ae57156b-af8a-5f1c-a6cf-4bc989808cc5"
    assert alert_id(SPIKE, str(ice), day) == alert_id(SPIKE, ice, day)
    malformed = alert_id("malformed_event", LogScope("ledger.disclosures", 2), day, "17")
    assert malformed == "48ff996d-7ae2-5e1a-a2d0-c3a804931757"


def test_every_rule_says_which_scope_it_is_about() -> None:
    w = {k: window(k, 5000, 1) for k in ("recipient", "authority", "source")}
    spikes = SpikeOverPriorYear().evaluate(ctx(windows=w))
    assert {d.scope for d in spikes} == {
        Scope("recipient", "IRS", "ICE"),
        Scope("authority", "IRS", I2_ID),
        Scope("source", "IRS", ""),
    }
    (incomplete,) = RequestIncomplete().evaluate(ctx(facts(address_verification="PLACEHOLDER")))
    assert incomplete.scope == Scope("recipient", "IRS", "ICE")


def test_facts_from_an_event_and_from_its_stored_json_agree() -> None:
    event = DisclosureRecorded(
        event_id="e1",
        occurred_at=SENT,
        recorded_by="irs",
        disclosure_id="D-1",
        source_agency="IRS",
        recipient_agency="ICE",
        legal_authority=I2,
        purpose="p",
        nature="LAST_KNOWN_ADDRESS",
        transmitted_at=SENT,
        record_count=5000,
        tax_periods=("2024",),
        data_categories=("address",),
        match_method="NAME_DOB_ADDRESS",
        address_verification="VALID",
    )
    stored = json.loads(render_json(event.to_record()))
    assert DisclosureFacts.from_event(event, NY) == facts(tax_periods=("2024",))
    assert DisclosureFacts.from_record(stored, NY) == facts(tax_periods=("2024",))
    order = CourtOrderRecorded(
        event_id="o1",
        occurred_at=ORDER.effective_at,
        recorded_by="court",
        order_id="ORDER-1",
        case_reference="1:25-cv-00457-CKK",
        court="D.D.C.",
        order_type="NOTICE_REQUIREMENT",
        entered_at=ORDER.effective_at,
        effective_at=ORDER.effective_at,
        recipients=("ICE",),
        authorities=(I2,),
        bulk_threshold=1000,
    )
    assert CourtOrderFacts.from_event(order) == ORDER  # notice_hours None means 24
    assert CourtOrderFacts.from_record(json.loads(render_json(order.to_record()))) == ORDER
    filed = NoticeFiled(
        event_id="n1",
        occurred_at=SENT,
        recorded_by="irs",
        notice_id="N-1",
        case_reference="1:25-cv-00457-CKK",
        filed_at=SENT - timedelta(hours=25),
        served_on=("Court", "Plaintiffs"),
        recipient_agency="ICE",
        legal_authority=I2,
        planned_transmission_start=SENT - timedelta(hours=1),
        planned_transmission_end=SENT + timedelta(hours=1),
        expected_record_count=10_000,
    )
    assert NoticeFacts.from_event(filed) == notice(timedelta(hours=25))
    assert NoticeFacts.from_record(json.loads(render_json(filed.to_record()))) == notice(
        timedelta(hours=25)
    )


# --- statistical_anomaly ------------------------------------------------------------------


def test_anomaly_needs_enough_history_and_fires_far_above_the_baseline() -> None:
    steady = [100] * 30 + [0] * 60
    assert (
        StatisticalAnomaly().evaluate(
            ctx(
                windows={
                    "recipient": window("recipient", 10_000, 0, trailing=[100] * 19 + [0] * 71)
                }
            )
        )
        == []
    )
    assert (
        StatisticalAnomaly().evaluate(
            ctx(windows={"recipient": window("recipient", 150, 0, trailing=steady)})
        )
        == []
    )
    fired = StatisticalAnomaly().evaluate(
        ctx(windows={"recipient": window("recipient", 200, 0, trailing=steady)})
    )
    # median 100, MAD 0 floored at max(5% of 100, 1) = 5: threshold 100 + 10 * 5 = 150
    assert [(d.rule, d.threshold) for d in fired] == [("statistical_anomaly", 150)]


# --- bulk_without_notice ----------------------------------------------------------------------


ORDER = CourtOrderFacts(
    "o1",
    "ORDER-1",
    "1:25-cv-00457-CKK",
    "NOTICE_REQUIREMENT",
    datetime(2025, 9, 5, tzinfo=UTC),
    None,
    ("ICE",),
    (I2,),
    1000,
    24,
)


def notice(
    lead: timedelta, start=SENT - timedelta(hours=1), end=SENT + timedelta(hours=1), expected=10_000
) -> NoticeFacts:
    return NoticeFacts(
        "n1",
        "N-1",
        "1:25-cv-00457-CKK",
        SENT - lead,
        "ICE",
        I2,
        start,
        end,
        expected,
        ("Court", "Plaintiffs"),
    )


@pytest.mark.parametrize(
    ("lead", "fires"),
    [
        (timedelta(hours=23, minutes=59), True),
        (timedelta(hours=24), False),
        (timedelta(hours=25), False),
    ],
)
def test_notice_must_be_filed_24_hours_before(lead: timedelta, fires: bool) -> None:
    drafts = BulkWithoutNotice().evaluate(ctx(orders=[ORDER], notices=[notice(lead)]))
    assert bool(drafts) is fires
    if fires:
        assert "23h59m before" in drafts[0].message


def test_below_the_bulk_threshold_needs_no_notice() -> None:
    assert BulkWithoutNotice().evaluate(ctx(facts(record_count=999), orders=[ORDER])) == []
    assert (
        "no notice was filed"
        in BulkWithoutNotice().evaluate(ctx(facts(record_count=1000), orders=[ORDER]))[0].message
    )


def test_planned_window_edges_and_expected_count() -> None:
    day = timedelta(hours=30)
    assert (
        BulkWithoutNotice().evaluate(
            ctx(orders=[ORDER], notices=[notice(day, start=SENT, end=SENT)])
        )
        == []
    )
    late = BulkWithoutNotice().evaluate(
        ctx(orders=[ORDER], notices=[notice(day, end=SENT - timedelta(seconds=1))])
    )
    assert "outside notice N-1's planned window" in late[0].message
    over = BulkWithoutNotice().evaluate(ctx(orders=[ORDER], notices=[notice(day, expected=4999)]))
    assert "exceed the 4,999 noticed" in over[0].message


def test_order_scope_and_time_in_force() -> None:
    other = dataclasses.replace(ORDER, recipients=("FBI",))
    assert BulkWithoutNotice().evaluate(ctx(orders=[other])) == []
    assert not ORDER.in_force(datetime(2025, 9, 4, tzinfo=UTC))
    expired = dataclasses.replace(ORDER, expires_at=SENT)
    assert ORDER.in_force(SENT)
    assert not expired.in_force(SENT)
    anything = dataclasses.replace(ORDER, authorities=())
    assert anything.covers("ICE", "26 U.S.C. 6103(i)(1)", CONFIG.registry)


# --- disclosure_during_stay ---------------------------------------------------------------


def test_stay_in_force_fires_and_other_orders_do_not() -> None:
    stay = dataclasses.replace(ORDER, order_type="STAY", order_id="STAY-1", bulk_threshold=None)
    assert [d.rule for d in DisclosureDuringStay().evaluate(ctx(orders=[stay]))] == [
        "disclosure_during_stay"
    ]
    assert DisclosureDuringStay().evaluate(ctx(orders=[ORDER])) == []
    injunction = dataclasses.replace(stay, order_type="INJUNCTION", recipients=("FBI",))
    assert DisclosureDuringStay().evaluate(ctx(orders=[injunction])) == []


# --- missing_legal_authority and request_incomplete -----------------------------------------


@pytest.mark.parametrize(
    ("authority", "fires"),
    [("", True), ("26 U.S.C. 6103(z)(9)", True), (I2, False), ("26 usc §6103 (i)(2)", False)],
)
def test_authority_must_be_in_the_registry(authority: str, fires: bool) -> None:
    assert bool(MissingLegalAuthority().evaluate(ctx(facts(legal_authority=authority)))) is fires


@pytest.mark.parametrize(
    ("authority", "verification", "method", "fires"),
    [
        (I2, "VALID", "NAME_DOB_ADDRESS", False),
        (I2, "PLACEHOLDER", "NAME_ADDRESS", True),
        (I2, "ZIP_ONLY", "NAME_ADDRESS", True),
        (I2, "MISSING", "NAME_ADDRESS", True),
        (I2, "NOT_COMPARED", "NAME_ADDRESS", True),
        (I2, None, "TIN_NAME", True),
        (I2, "VALID", "TIN_NAME", False),
        ("26 U.S.C. 6103(d)", "PLACEHOLDER", "TIN_NAME", False),
    ],
)
def test_request_incomplete_for_6103_i_2(
    authority: str, verification, method: str, fires: bool
) -> None:
    d = facts(legal_authority=authority, address_verification=verification, match_method=method)
    assert bool(RequestIncomplete().evaluate(ctx(d))) is fires


def test_every_rule_carries_its_legal_source() -> None:
    everything = dataclasses.replace(ORDER, authorities=())
    stay = dataclasses.replace(everything, order_type="STAY", order_id="STAY-1")
    d = facts(legal_authority="", address_verification="PLACEHOLDER")
    drafts = evaluate_all(
        ctx(d, windows={"source": window("source", 10, 1)}, orders=[everything, stay])
    )
    assert {x.rule for x in drafts} >= {
        "spike_over_prior_year",
        "bulk_without_notice",
        "disclosure_during_stay",
        "missing_legal_authority",
    }
    assert all(x.legal_source for x in drafts)


# --- configuration --------------------------------------------------------------------------


def test_unknown_keys_are_an_error(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("[statistical_anomaly]\nkk = 3\n")
    with pytest.raises(ConfigError, match=r"statistical_anomaly\.kk"):
        load_rules_config(path)
    path.write_text("[nope]\nenabled = true\n")
    with pytest.raises(ConfigError, match="'nope'"):
        load_rules_config(path)


def test_overrides_and_coverage_start(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        '[statistical_anomaly]\nk = 4\n[coverage_start]\n"IRS" = 2024-01-01\n[bulk_without_notice]\nenabled = false\n'
    )
    cfg = load_rules_config(path)
    assert cfg.anomaly_k == 4.0
    assert cfg.coverage_start == {"IRS": date(2024, 1, 1)}
    assert not cfg.on("bulk_without_notice")
    assert BulkWithoutNotice().evaluate(ctx(orders=[ORDER], config=cfg)) == []
