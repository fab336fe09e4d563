"""The request (DisclosureRequested), match-quality counts at intake, and request_incomplete."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import EventValidationError
from ledger.events import DisclosureRecorded, DisclosureRequested
from ledger.intake import EMIT_EVENT_TYPES, build_event
from ledger.rules.compliance import RequestIncomplete
from ledger.rules.config import load_rules_config
from ledger.rules.model import DisclosureFacts, RuleContext
from ledger.rules.requests import RequestFacts, missing_elements
from tests.unit.test_rules import facts

CONFIG = load_rules_config()
I2 = "26 U.S.C. 6103(i)(2)"
ICE = "U.S. Immigration and Customs Enforcement"


def request_obj(**changes: Any) -> dict[str, Any]:
    return {
        "type": "DisclosureRequested",
        "request_id": "R-1",
        "source_agency": "Internal Revenue Service",
        "requesting_agency": "U.S. Department of Homeland Security",
        "recipient_agency": ICE,
        "requesting_official": "A. Official",
        "requesting_official_title": "Secretary of Homeland Security",
        "received_at": "2025-06-27T14:00:00Z",
        "legal_authority": I2,
        "statutes": ["8 U.S.C. 1253"],
        "reasons": "Non-tax criminal investigation of the named taxpayers",
        "taxpayer_count": 47289,
        "names_set_forth": 47289,
        "addresses_set_forth": 47289,
        "tins_set_forth": 47289,
        "tax_periods": ["2023", "2024"],
        "recipient_address": "500 12th St SW, Washington, DC 20536",
        **changes,
    }


def request(**changes: Any) -> RequestFacts:
    event = build_event(request_obj(**changes))
    assert isinstance(event, DisclosureRequested)
    return RequestFacts.from_event(event)


def disclosure_obj(**changes: Any) -> dict[str, Any]:
    return {
        "type": "DisclosureRecorded",
        "disclosure_id": "D-1",
        "source_agency": "Internal Revenue Service",
        "recipient_agency": ICE,
        "legal_authority": I2,
        "purpose": "p",
        "nature": "LAST_KNOWN_ADDRESS",
        "transmitted_at": "2025-08-07T19:12:00Z",
        "record_count": 47289,
        "tax_periods": ["2024"],
        "data_categories": ["address"],
        **changes,
    }


def context(d: DisclosureFacts, requests: dict[str, RequestFacts] | None = None) -> RuleContext:
    return RuleContext(d, [], d.day, [], [], CONFIG, requests=requests or {})


# --- the event and intake -------------------------------------------------------------------


def test_a_request_is_keyed_by_its_recipient_like_its_disclosures() -> None:
    event = build_event(request_obj())
    disclosure = build_event(disclosure_obj())
    assert event.key == disclosure.key == ICE
    assert build_event(request_obj(recipient_agency=None)).key == (
        "U.S. Department of Homeland Security"
    )
    assert "DisclosureRequested" in EMIT_EVENT_TYPES


@pytest.mark.parametrize("counted", ["names_set_forth", "addresses_set_forth", "tins_set_forth"])
def test_intake_refuses_more_taxpayers_set_forth_than_the_request_covers(counted: str) -> None:
    with pytest.raises(EventValidationError, match=f"{counted} exceeds taxpayer_count"):
        build_event(request_obj(taxpayer_count=10, **{counted: 11}))


def test_intake_refuses_a_tin_in_the_reasons_and_never_echoes_it() -> None:
    with pytest.raises(EventValidationError) as caught:
        build_event(request_obj(reasons="investigating 123-45-6789"))
    assert "123-45-6789" not in str(caught.value)


def test_match_quality_counts_are_kept_and_their_keys_checked() -> None:
    event = build_event(
        disclosure_obj(
            match_counts={"TIN_NAME": 47289},
            address_counts={"PLACEHOLDER": 42695, "VALID": 4594},
        )
    )
    assert isinstance(event, DisclosureRecorded)
    assert event.address_counts == {"PLACEHOLDER": 42695, "VALID": 4594}
    with pytest.raises(EventValidationError, match="match_counts keys must be among") as caught:
        build_event(disclosure_obj(match_counts={"SOUNDEX": 1}))
    assert "SOUNDEX" not in str(caught.value)
    with pytest.raises(EventValidationError, match="address_counts keys must be among"):
        build_event(disclosure_obj(address_counts={"valid": 1}))


@given(
    st.integers(0, 1000),
    st.dictionaries(st.sampled_from(["VALID", "PLACEHOLDER", "ZIP_ONLY"]), st.integers(0, 600)),
)
def test_counts_may_not_add_up_to_more_than_the_records(
    records: int, counts: dict[str, int]
) -> None:
    obj = disclosure_obj(record_count=records, address_counts=counts)
    if sum(counts.values()) > records:
        with pytest.raises(EventValidationError, match="add up to more than record_count"):
            build_event(obj)
    else:
        assert build_event(obj).address_counts == counts  # type: ignore[attr-defined]


# --- the elements of 6103(i)(2)(B) ------------------------------------------------------------


def test_a_complete_request_lacks_nothing_and_a_tin_is_not_required() -> None:
    assert missing_elements(request()) == []
    assert missing_elements(request(tins_set_forth=0)) == []


@pytest.mark.parametrize(
    ("changes", "missing"),
    [
        ({"requesting_official": None}, "the requesting official"),
        ({"requesting_official_title": "  "}, "the official's title"),
        (
            {
                "taxpayer_count": 0,
                "names_set_forth": 0,
                "addresses_set_forth": 0,
                "tins_set_forth": 0,
            },
            "any taxpayer",
        ),
        ({"names_set_forth": 47288}, "names for 1 of 47,289 taxpayers"),
        ({"addresses_set_forth": 4594}, "addresses for 42,695 of 47,289 taxpayers"),
        ({"tax_periods": []}, "the tax periods"),
        ({"legal_authority": None}, "the legal authority"),
        ({"statutes": []}, "the statutes under investigation"),
        ({"reasons": ""}, "the specific reasons"),
    ],
)
def test_each_missing_element_is_named(changes: dict[str, Any], missing: str) -> None:
    assert missing_elements(request(**changes)) == [missing]


# --- request_incomplete ------------------------------------------------------------------------


def test_a_disclosure_on_a_complete_request_with_valid_addresses_does_not_fire() -> None:
    d = facts(request_id="R-1")
    assert RequestIncomplete().evaluate(context(d, {"R-1": request()})) == []


def test_a_request_the_ledger_has_not_seen_is_named() -> None:
    (alert,) = RequestIncomplete().evaluate(context(facts(request_id="R-404")))
    assert "its request R-404 is not in the ledger" in alert.message


def test_the_missing_elements_of_the_cited_request_are_named_with_its_evidence() -> None:
    r = request(addresses_set_forth=4594, reasons=None)
    (alert,) = RequestIncomplete().evaluate(context(facts(request_id="R-1"), {"R-1": r}))
    assert (
        "request R-1 does not set forth addresses for 42,695 of 47,289 taxpayers,"
        " the specific reasons" in alert.message
    )
    assert alert.evidence == ["e1", r.event_id]


def test_the_match_quality_counts_are_in_the_message() -> None:
    event = build_event(
        disclosure_obj(
            match_counts={"TIN_NAME": 47289},
            address_counts={"PLACEHOLDER": 42695, "VALID": 4594},
        )
    )
    assert isinstance(event, DisclosureRecorded)
    d = DisclosureFacts.from_event(event, UTC)  # type: ignore[arg-type]
    (alert,) = RequestIncomplete().evaluate(context(d))
    assert "42,695 of 47,289 addresses PLACEHOLDER" in alert.message
    assert "matched by TIN_NAME 47,289" in alert.message
    assert "addresses PLACEHOLDER 42,695, VALID 4,594" in alert.message
    # All verified by count: nothing to say, though address_verification was never given.
    valid = dataclasses.replace(d, address_counts=(("VALID", 47289),))
    assert RequestIncomplete().evaluate(context(valid)) == []


def test_only_the_configured_authorities_are_checked() -> None:
    d = facts(request_id="R-404", legal_authority="26 U.S.C. 6103(d)")
    assert RequestIncomplete().evaluate(context(d)) == []


def test_facts_carry_the_request_id_and_sorted_counts() -> None:
    event = build_event(disclosure_obj(request_id="R-9", address_counts={"VALID": 2, "MISSING": 1}))
    assert isinstance(event, DisclosureRecorded)
    d = DisclosureFacts.from_event(event, UTC)  # type: ignore[arg-type]
    assert d.request_id == "R-9"
    assert d.address_counts == (("MISSING", 1), ("VALID", 2))
    assert datetime(2025, 8, 7, tzinfo=UTC).date() == d.day


def test_the_demo_cites_only_requests_it_records_and_the_spike_request_lacks_addresses() -> None:
    from zoneinfo import ZoneInfo

    from ledger.demo import history
    from ledger.demo import requests as demo_requests

    tz = ZoneInfo("America/New_York")
    events = [*history.history(tz), *history.court_order_story(tz)]
    recorded = {
        r.request_id: RequestFacts.from_event(r) for r in demo_requests.requests_for(events)
    }
    cited = [e for e in events if isinstance(e, DisclosureRecorded) and e.legal_authority == I2]
    assert cited
    for e in cited:
        d = DisclosureFacts.from_event(e, tz)
        problems = RequestIncomplete().evaluate(context(d, recorded))
        # Only the court story's placeholder transmission is incomplete, by its addresses.
        messages = [p.message.split(": ", 1)[1] for p in problems]
        assert messages in ([], ["address verification is PLACEHOLDER."]), e.disclosure_id
    spike = history.spike(tz)
    request = RequestFacts.from_event(demo_requests.spike_request(spike))
    (alert,) = RequestIncomplete().evaluate(
        context(DisclosureFacts.from_event(spike, tz), {request.request_id: request})
    )
    assert "addresses for 42,695 of 47,289 taxpayers" in alert.message
    assert "42,695 of 47,289 addresses PLACEHOLDER" in alert.message
