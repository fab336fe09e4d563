"""Alert cursors and the flood rule, without services (the listing itself: test_alerts_unburied)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.api.statuses import http_status_of
from ledger.cli.exit_codes import exit_code_of
from ledger.exit_codes import ExitCode
from ledger.rules import alert_flood
from ledger.rules.model import LogScope, Scope
from ledger.store.alert_pages import CURSOR_MAX, BadCursorError, Place


@given(
    rank=st.sampled_from([0, 1]),
    fired=st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
    alert_id=st.uuids(),
)
def test_a_cursor_gives_back_its_place(rank: int, fired: datetime, alert_id: uuid.UUID) -> None:
    place = Place(rank, fired, str(alert_id))
    cursor = place.cursor()
    assert len(cursor) <= CURSOR_MAX
    assert Place.of(cursor) == place


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "",
        "x" * (CURSOR_MAX + 1),
        Place(2, datetime(2025, 1, 1, tzinfo=UTC), str(uuid.uuid4())).cursor(),  # no such group
        Place(0, datetime(2025, 1, 1), str(uuid.uuid4())).cursor(),  # no time zone
        Place(0, datetime(2025, 1, 1, tzinfo=UTC), "not-a-uuid").cursor(),
    ],
)
def test_a_cursor_the_listing_did_not_give_out_is_refused(cursor: str) -> None:
    with pytest.raises(BadCursorError) as caught:
        Place.of(cursor)
    assert exit_code_of(caught.value) == ExitCode.USAGE
    assert http_status_of(caught.value) == 422
    assert "\n" not in caught.value.diagnostics()


def test_a_flood_is_counted_on_the_source_or_the_log_and_raised_once_a_day() -> None:
    day = date(2025, 10, 13)
    pair = Scope("pair", "IRS", "ICE under 6103(i)(2)")
    assert alert_flood.flood_scope(pair) == Scope("source", "IRS", "")
    log = LogScope("t.ledger.disclosures", 2)
    assert alert_flood.flood_scope(log) == log
    first = alert_flood.flood_alert(Scope("source", "IRS", ""), day, 101, ["e"] * 50)
    again = alert_flood.flood_alert(Scope("source", "IRS", ""), day, 240, ["f"])
    assert first.alert_id == again.alert_id  # one per source and day, whatever the count
    other_day = alert_flood.flood_alert(
        Scope("source", "IRS", ""), day + timedelta(days=1), 101, []
    )
    assert other_day.alert_id != first.alert_id
    assert (first.severity, first.threshold, first.observed) == (
        "critical",
        alert_flood.FLOOD_THRESHOLD,
        101,
    )
    assert len(first.evidence) == alert_flood.EVIDENCE_MAX
