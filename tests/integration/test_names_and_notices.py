"""Issue 22, items 2 and 3 through Kafka and PostgreSQL: names are identities (spellings,
homoglyphs, components, blanks, new source spellings, duplicates) and the notice order as the
court wrote it (service, cited notice, daily bulk, routing, windows, requests). One test per
dodge, named after it."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from consumers.service import start_consumers
from ledger.errors import EventValidationError
from ledger.intake import build_event
from ledger.kafka.offsets import log_end_offsets
from ledger.ops.replay_command import run_replay
from ledger.runtime import Ledger
from tests.integration.helpers import (
    at,
    caught_up,
    cli_env,
    disclosure,
    emit,
    isolated_ledger,
    rows,
)

pytestmark = pytest.mark.integration

D = date(2025, 9, 23)
CASE = "1:25-cv-00457"
ICE = "U.S. Immigration and Customs Enforcement"
DHS = "Department of Homeland Security"
I2 = "26 U.S.C. 6103(i)(2)"


def order(order_type: str, recipients: list[str], effective: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "CourtOrderRecorded",
        "order_id": f"O-{uuid.uuid4().hex[:8]}",
        "case_reference": CASE,
        "court": "U.S. District Court for the District of Columbia",
        "order_type": order_type,
        "entered_at": effective,
        "effective_at": effective,
        "expires_at": None,
        "recipients": recipients,
        "authorities": [I2],
        "bulk_threshold": None,
        "notice_hours": 24,
        "description": f"{order_type} for the test",
        **extra,
    }


def notice(
    notice_id: str,
    filed: datetime,
    start: datetime,
    end: datetime,
    expected: int,
    served_on: list[str] | None = None,
    recipient: str = ICE,
) -> dict[str, Any]:
    return {
        "type": "NoticeFiled",
        "notice_id": notice_id,
        "case_reference": CASE,
        "filed_at": filed.isoformat(),
        "served_on": ["Court", "Plaintiffs"] if served_on is None else served_on,
        "recipient_agency": recipient,
        "legal_authority": I2,
        "planned_transmission_start": start.isoformat(),
        "planned_transmission_end": end.isoformat(),
        "expected_record_count": expected,
    }


def request(request_id: str, received: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "type": "DisclosureRequested",
        "request_id": request_id,
        "source_agency": "IRS",
        "requesting_agency": "ICE",
        "requesting_official": "Acting Director",
        "requesting_official_title": "Director",
        "received_at": received.isoformat(),
        "legal_authority": I2,
        "statutes": ["8 U.S.C. 1253"],
        "reasons": "Removal proceedings",
        "taxpayer_count": 10,
        "names_set_forth": 10,
        "addresses_set_forth": 10,
        "tins_set_forth": 10,
        "tax_periods": ["2024"],
        **extra,
    }


def t(day: date, hour: int = 12) -> datetime:
    return datetime.fromisoformat(at(day, hour))


def run(
    ledger_settings: Any, name: str, *batches: list[dict[str, Any]], replay: bool = False
) -> tuple[Ledger, list]:
    """Emits each batch in turn (a batch after the one before is consumed) and returns the
    ledger with the events sent; with ``replay``, checks that a replay from offset 0 rebuilds
    every projection equal to the live one (same alerts, volumes and statuses)."""
    led = isolated_ledger(ledger_settings, name)
    sent = []
    running = start_consumers(led)
    try:
        for batch in batches:
            sent.extend(emit(led, batch))
            caught_up(led)
    finally:
        running.stop()
    if replay:
        result = run_replay(led.settings, show_progress=False)
        assert result.differences == []
        assert result.equal
    return led, sent


def alerts_on(led: Ledger, rule: str, event_id: Any) -> list[tuple[str, str]]:
    """(severity, status) of each alert of ``rule`` whose evidence names the event."""
    return rows(
        led,
        "SELECT a.severity, s.status FROM alerts a JOIN alert_status s USING (alert_id)"
        " WHERE a.rule = %s AND %s = ANY(a.evidence)",
        (rule, str(event_id)),
    )


def stay_alerts_for(ledger_settings: Any, name: str, recipient: str) -> list[tuple[str, str]]:
    stay = order("STAY", [DHS], at(D - timedelta(days=5), 9))
    led, sent = run(ledger_settings, name, [stay], [disclosure(D, 10, recipient)])
    return alerts_on(led, "disclosure_during_stay", sent[-1].event_id)


# -- names are identities ---------------------------------------------------------------------


def test_zero_width_space_in_ice_is_covered_by_stay(ledger_settings) -> None:
    assert stay_alerts_for(ledger_settings, "zwsp", "I\u200bCE")


def test_fullwidth_ice_is_covered_by_stay(ledger_settings) -> None:
    assert stay_alerts_for(ledger_settings, "fullwidth", "\uff29\uff23\uff25")


def test_cyrillic_letter_in_ice_is_covered_by_stay(ledger_settings) -> None:
    # U+0421 CYRILLIC CAPITAL LETTER ES in place of the Latin C.
    assert stay_alerts_for(ledger_settings, "cyrillic", "I\u0421E")


def test_ice_ero_and_dhs_ice_are_ice(ledger_settings) -> None:
    stay = order("STAY", [DHS], at(D - timedelta(days=5), 9))
    spellings = [disclosure(D, 10, "ICE ERO"), disclosure(D, 20, "DHS/ICE")]
    led, sent = run(ledger_settings, "components", [stay], spellings)
    for event in sent[1:]:
        assert alerts_on(led, "disclosure_during_stay", event.event_id)
        assert not alerts_on(led, "unknown_recipient", event.event_id)
    counted = rows(
        led,
        "SELECT scope_value, records FROM daily_volume WHERE scope_kind = 'recipient'"
        " AND day = %s ORDER BY scope_value",
        (D,),
    )
    assert counted == [("DHS", 30), ("ICE", 30)]


def test_blank_recipient_is_refused(ledger_settings, tmp_path) -> None:
    for blank in ("", "   ", "\u200b", "\u200b \ufeff\u2060"):
        with pytest.raises(EventValidationError, match="recipient_agency"):
            build_event(disclosure(D, 10, blank))
    with pytest.raises(EventValidationError, match="source_agency"):
        build_event(disclosure(D, 10, ICE, source="\u200b"))
    with pytest.raises(EventValidationError, match="recipient_agency"):
        build_event(notice("N-blank", t(D), t(D), t(D), 1, recipient=" "))
    with pytest.raises(EventValidationError, match="requesting_agency"):
        build_event(request("R-blank", t(D), requesting_agency="\u00a0"))
    # `ledger emit` against a real ledger: the line is refused by number, nothing is sent.
    led = isolated_ledger(ledger_settings, "blank")
    path = tmp_path / "blank.jsonl"
    lines = [disclosure(D, 10, ICE), disclosure(D, 10, "\u200b")]
    path.write_text("".join(json.dumps(o) + "\n" for o in lines))
    cli = shutil.which("ledger")
    assert cli, "the ledger console script is not installed"
    result = subprocess.run(
        [cli, "emit", "--file", str(path)],
        env=cli_env(led),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 5, result.stderr
    assert "line 2: recipient_agency is blank" in result.stderr
    assert "Traceback" not in result.stderr
    assert sum(log_end_offsets(led.bootstrap, led.topics.disclosures).values()) == 0


def _year_of_irs(end: date) -> list[dict[str, Any]]:
    """A year and a day of small IRS-to-ICE disclosures, so IRS is past its warm-up."""
    return [disclosure(end - timedelta(days=n), 10, ICE) for n in range(367, 0, -1)]


def test_new_source_spelling_is_not_a_new_warmup_year(ledger_settings) -> None:
    spike_day = D
    big = [
        disclosure(spike_day, 200_000, ICE, source="IRS-CI"),
        disclosure(
            spike_day + timedelta(days=1), 200_000, ICE, source="Department of the Treasury"
        ),
    ]
    led, sent = run(ledger_settings, "newspelling", _year_of_irs(spike_day), big, replay=True)
    irs_ci, treasury = sent[-2], sent[-1]
    # IRS-CI is the IRS: its records count against the IRS's prior year.
    assert alerts_on(led, "spike_over_prior_year", irs_ci.event_id)
    # The Treasury contains the IRS, whose year the ledger has seen: no silent warm-up year.
    critical = rows(
        led,
        "SELECT rule FROM alerts WHERE severity = 'critical' AND %s = ANY(evidence)",
        (str(treasury.event_id),),
    )
    assert critical, "200,000 records from a new source spelling raised nothing"


def test_unknown_source_alerts_the_day_it_appears(ledger_settings) -> None:
    odd = disclosure(D, 5, ICE, source="Internal Revenue Servise Field Desk")
    led, sent = run(ledger_settings, "unknownsource", [disclosure(D, 5, ICE)], [odd])
    found = rows(
        led,
        "SELECT day FROM alerts WHERE rule = 'unknown_source' AND %s = ANY(evidence)",
        (str(sent[-1].event_id),),
    )
    assert found == [(D,)]
    assert not alerts_on(led, "unknown_source", sent[0].event_id)


def test_duplicate_matches_canonical_source(ledger_settings) -> None:
    first = disclosure(D, 700, ICE, source="IRS")
    again = {**first, "source_agency": "Internal Revenue Service"}
    led, sent = run(ledger_settings, "dupcanon", [first], [again], replay=True)
    assert alerts_on(led, "duplicate_disclosure", sent[1].event_id)
    counted = rows(
        led,
        "SELECT records FROM daily_volume WHERE scope_kind = 'source' AND day = %s",
        (D,),
    )
    assert counted == [(700,)]


def test_authority_paragraph_that_does_not_exist_is_missing(ledger_settings) -> None:
    cited = [
        disclosure(D, 5, ICE, authority="26 U.S.C. 6103(i)(2)(Z)"),
        disclosure(D, 5, ICE, authority="26 U.S.C. 6103(i)(99)"),
        disclosure(D, 5, ICE, authority="26 U.S.C. 6103(i)(2)(A)"),
    ]
    led, sent = run(ledger_settings, "paragraphs", cited)
    assert alerts_on(led, "missing_legal_authority", sent[0].event_id)
    assert alerts_on(led, "missing_legal_authority", sent[1].event_id)
    assert not alerts_on(led, "missing_legal_authority", sent[2].event_id)


# -- the notice order as the court wrote it ---------------------------------------------------


def _notice_order(**extra: Any) -> dict[str, Any]:
    return order(
        "NOTICE_REQUIREMENT", [ICE], at(D - timedelta(days=20), 9), bulk_threshold=1000, **extra
    )


def test_notice_served_on_blank_or_recipient_does_not_comply(ledger_settings) -> None:
    sent_at = t(D, 14)
    window = (sent_at - timedelta(hours=1), sent_at + timedelta(hours=1))
    filed = sent_at - timedelta(hours=30)
    notices = [
        notice("N-blank", filed, *window, 5000, served_on=[" ", "\u200b"]),
        notice("N-ice", filed, *window, 5000, served_on=[ICE, "ICE"]),
        notice("N-good", filed, *window, 5000),
    ]
    when = sent_at.astimezone(UTC).isoformat()
    sends = [
        disclosure(D, 2000, ICE, when=when, notice_id="N-blank"),
        disclosure(D, 2000, ICE, when=when, notice_id="N-ice"),
        disclosure(D, 1000, ICE, when=when, notice_id="N-good"),
    ]
    led, sent = run(ledger_settings, "servedon", [_notice_order(), *notices], sends)
    blank, to_recipient, good = sent[-3:]
    assert alerts_on(led, "bulk_without_notice", blank.event_id)
    assert alerts_on(led, "bulk_without_notice", to_recipient.event_id)
    assert not alerts_on(led, "bulk_without_notice", good.event_id)


def test_ten_transmissions_of_999_in_a_day_are_bulk(ledger_settings) -> None:
    sends = [
        disclosure(D, 999, ICE, when=datetime.fromisoformat(at(D, 8 + n)).isoformat())
        for n in range(10)
    ]
    led, sent = run(ledger_settings, "bulk999", [_notice_order()], sends, replay=True)
    flagged = [e for e in sent[1:] if alerts_on(led, "bulk_without_notice", e.event_id)]
    # The first 999 is under the threshold; from the second on the day is at or above it.
    assert len(flagged) == 9
    assert sent[1] not in flagged


def test_dhs_hq_on_ice_request_is_covered(ledger_settings) -> None:
    received = t(D - timedelta(days=3))
    ask = request(
        "R-ice",
        received,
        taxpayer_count=5000,
        names_set_forth=5000,
        addresses_set_forth=5000,
        tins_set_forth=5000,
    )
    to_hq = disclosure(D, 5000, DHS, request_id="R-ice")
    led, sent = run(ledger_settings, "dhshq", [_notice_order(), ask], [to_hq])
    assert alerts_on(led, "bulk_without_notice", sent[-1].event_id)


def test_notice_covers_only_its_records_and_window(ledger_settings) -> None:
    first = t(D - timedelta(days=10), 14)
    standing = notice(
        "N-standing",
        first - timedelta(hours=30),
        first - timedelta(hours=1),
        first + timedelta(days=365),
        10_000_000,
    )
    # A later order in the same case: the notice was filed under the first one.
    later_order = order(
        "NOTICE_REQUIREMENT", [ICE], at(D + timedelta(days=30), 9), bulk_threshold=1000
    )
    early, late = D - timedelta(days=5), D + timedelta(days=40)
    sends = [
        disclosure(
            early, 3000, ICE, when=t(early, 14).astimezone(UTC).isoformat(), notice_id="N-standing"
        ),
        disclosure(
            late, 3000, ICE, when=t(late, 14).astimezone(UTC).isoformat(), notice_id="N-standing"
        ),
    ]
    led, sent = run(ledger_settings, "standing", [_notice_order(), standing, later_order], sends)
    for event in sent[-2:]:
        assert alerts_on(led, "bulk_without_notice", event.event_id), event.disclosure_id


def test_late_request_does_not_clear_request_incomplete(ledger_settings) -> None:
    sent_at = t(D, 14)
    send = disclosure(
        D,
        47_289,
        ICE,
        when=sent_at.astimezone(UTC).isoformat(),
        request_id="R-late",
        tax_periods=["2019", "2020", "2021", "2022", "2023", "2024"],
    )
    late = request("R-late", sent_at + timedelta(days=12))
    led, sent = run(ledger_settings, "laterequest", [send], [late], replay=True)
    found = alerts_on(led, "request_incomplete", sent[0].event_id)
    assert found
    assert all(status == "open" for _, status in found), found
