"""The query commands' tables: each column shows the row's field as the command always did."""

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from ledger.cli import output
from ledger.cli.queries import ALERT_TABLE, DISCLOSURE_TABLE, VOLUME_TABLE
from ledger.store.query_rows import AlertRow, DisclosureRow, VolumeDayRow


@pytest.fixture
def printed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str], list[list[Any]]]]:
    calls: list[tuple[str, list[str], list[list[Any]]]] = []
    monkeypatch.setattr(
        output, "print_table", lambda title, cols, rows: calls.append((title, cols, rows))
    )
    return calls


def test_volume_table(printed: list[Any]) -> None:
    row = VolumeDayRow(
        day=date(2026, 3, 1),
        source_agency="IRS",
        scope_value="",  # a whole source
        disclosures=1200,
        records=40000,
        prior_365_records=1234567,
        disclosures_as_amended=1200,
        records_as_amended=40000,
    )
    amended = replace(row, scope_value="ICE", records_as_amended=400)
    output.print_records("Daily volume by source", VOLUME_TABLE, [row, amended])
    assert printed == [
        (
            "Daily volume by source",
            ["day", "source", "scope", "disclosures", "records", "as amended", "prior 365 days"],
            [
                [date(2026, 3, 1), "IRS", "(all)", 1200, "40,000", "", "1,234,567"],
                [date(2026, 3, 1), "IRS", "ICE", 1200, "40,000", "400", "1,234,567"],
            ],
        )
    ]


def test_disclosure_table(printed: list[Any]) -> None:
    row = DisclosureRow(
        event_id="e-1",
        disclosure_id="d-1",
        day=date(2026, 3, 1),
        transmitted_at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
        source_agency="IRS",
        recipient_agency="ICE",
        legal_authority="26 U.S.C. 6103(i)(2)",
        purpose="p" * 50,
        nature="addresses",
        record_count=9000,
        match_method=None,
        address_verification=None,
        notice_id=None,
        log_id="log",
        kafka_offset=7,
    )
    output.print_records("Disclosures (1 of 1)", DISCLOSURE_TABLE, [row])
    assert printed[0][1] == ["day", "recipient", "authority", "records", "purpose", "event id"]
    assert printed[0][2] == [
        [date(2026, 3, 1), "ICE", "26 U.S.C. 6103(i)(2)", "9,000", "p" * 40, "e-1"]
    ]


def test_alert_table(printed: list[Any]) -> None:
    row = AlertRow(
        alert_id="a-1",
        rule="spike_over_prior_year",
        severity="critical",
        scope="ICE",
        scope_kind="recipient",
        scope_source="IRS",
        scope_value="ICE",
        day=date(2026, 3, 1),
        observed=40000,
        threshold=None,
        evidence=[],
        legal_source="",
        message="",
        fired_at=datetime(2026, 3, 1, 12, 30, 5),
        status="open",
        status_reason=None,
        delivery="",
        acknowledged_by="",
    )
    done = replace(row, threshold=1500, delivery="delivered", acknowledged_by="ann")
    output.print_records("Alerts (2)", ALERT_TABLE, [row, done])
    head = ["fired at", "day", "rule", "scope", "status", "observed", "threshold", "delivery"]
    assert printed[0][1] == [*head, "ack"]
    common = ["2026-03-01 12:30:05", date(2026, 3, 1), "spike_over_prior_year", "ICE", "open"]
    assert printed[0][2] == [
        [*common, "40,000", "", "-", "-"],
        [*common, "40,000", "1,500", "delivered", "ann"],
    ]
