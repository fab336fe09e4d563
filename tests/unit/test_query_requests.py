"""The queries' shared checks (ledger/ops/*_query.py, record_pages, scope_asked), without services:
the CLI and the API refuse the same bad request with the same QueryError (exit 2, HTTP 422)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from ledger.api.statuses import http_status_of
from ledger.cli import output
from ledger.cli.exit_codes import exit_code_of
from ledger.errors import QueryError
from ledger.exit_codes import ExitCode
from ledger.ops import alert_query, disclosure_query, record_pages, volume_query
from ledger.ops.scope_asked import HALF_PAIR, KIND_PROBLEM, check_scope, pair_of
from ledger.rules.config import load_rules_config
from ledger.store import queries
from ledger.store.alert_pages import BadCursorError, Place
from ledger.store.query_rows import VolumeDayRow

CONFIG = load_rules_config()
REGISTRY = CONFIG.registry
ICE = "Immigration and Customs Enforcement"


def test_a_query_error_is_a_usage_error_at_both_edges() -> None:
    assert exit_code_of(QueryError("x")) == ExitCode.USAGE
    assert http_status_of(QueryError("x")) == 422
    assert issubclass(BadCursorError, QueryError)  # a cursor is part of the query


@pytest.mark.parametrize("kind", ["agency", "taxpayer", "", "Recipient"])
def test_an_unknown_scope_kind_is_refused(kind: str) -> None:
    with pytest.raises(QueryError, match=KIND_PROBLEM):
        check_scope(kind, None)
    with pytest.raises(QueryError, match=KIND_PROBLEM):
        volume_query.check(volume_query.VolumeRequest(kind))
    with pytest.raises(QueryError, match=KIND_PROBLEM):
        alert_query.check(alert_query.AlertsRequest(kind=kind), REGISTRY)


@pytest.mark.parametrize("text", ["ICE", "ICE under ", " under 6103(i)(2)", "ICE under  "])
def test_a_pair_names_both_halves(text: str) -> None:
    with pytest.raises(QueryError, match="both a recipient and an authority"):
        check_scope("pair", text)
    with pytest.raises(QueryError, match="both a recipient and an authority"):
        volume_query.check(volume_query.VolumeRequest("pair", text))
    with pytest.raises(QueryError, match="both a recipient and an authority"):
        alert_query.check(alert_query.AlertsRequest(kind="pair", scope=text), REGISTRY)


def test_a_pair_by_its_halves() -> None:
    assert pair_of(None, None) is None  # every pair
    assert pair_of("ICE", "6103(i)(2)") == "ICE under 6103(i)(2)"
    for recipient, authority in (("ICE", None), (None, "6103(i)(2)"), ("ICE", "")):
        with pytest.raises(QueryError, match=HALF_PAIR.split("(")[0].strip()):
            pair_of(recipient, authority)
        with pytest.raises(QueryError):
            volume_query.check(volume_query.VolumeRequest("pair", None, None, recipient, authority))


def test_the_scope_a_volume_request_names() -> None:
    series = volume_query.VolumeRequest
    assert volume_query.check(series("recipient", recipient=ICE, authority="x")) == ICE
    assert volume_query.check(series("authority", recipient=ICE, authority="6103(i)")) == "6103(i)"
    assert volume_query.check(series("pair", recipient=ICE, authority="6103(i)")) == (
        f"{ICE} under 6103(i)"
    )
    assert volume_query.check(series("pair")) is None  # every pair, on both edges
    assert (
        volume_query.check(series("source", recipient=ICE)) is None
    )  # a source series: halves unused
    assert volume_query.check(series("pair", "ICE under 6103(i)")) == "ICE under 6103(i)"
    with pytest.raises(QueryError, match="not both"):
        volume_query.check(series("recipient", "ICE", recipient="DHS"))
    with pytest.raises(QueryError, match="limit"):
        volume_query.check(series(limit=0))
    with pytest.raises(QueryError, match="offset"):
        volume_query.check(series(offset=-1))


def test_a_volume_series_resolves_names_and_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[Any, ...]] = []
    day = VolumeDayRow(date(2025, 8, 7), "IRS", "ICE under 6103(i)(2)", 1, 9, 0, 1, 9)

    def series(conn: object, *args: Any) -> list[VolumeDayRow]:
        asked.append(args)
        return [day, day, day]

    monkeypatch.setattr(queries, "volume_series", series)
    request = volume_query.VolumeRequest(
        "pair", recipient=ICE, authority="I.R.C. 6103(i)(2)", source="Internal Revenue Service"
    )
    found = volume_query.volume_series(
        None,  # type: ignore[arg-type]  # the store read is replaced
        REGISTRY,
        replace(request, limit=2),
    )
    assert asked == [("pair", "IRS", "ICE under 6103(i)(2)", None, None, 3, 0)]
    assert (found.value, found.more, len(found.days)) == ("ICE under 6103(i)(2)", True, 2)
    every = volume_query.volume_series(None, REGISTRY, request)  # type: ignore[arg-type]
    assert asked[-1][-2:] == (None, 0)  # the CLI's series: every day
    assert (every.more, len(every.days)) == (False, 3)


def test_alert_requests() -> None:
    listing = alert_query.AlertsRequest
    wanted = alert_query.check(
        listing(kind="recipient", scope="Department of Homeland Security"), REGISTRY
    )
    assert (wanted.kind, wanted.value, wanted.status) == ("recipient", "DHS", "all")
    assert (
        alert_query.check(listing(scope="DHS"), REGISTRY).value == "DHS"
    )  # a recipient by default
    with pytest.raises(QueryError, match="status must be open, resolved, all"):
        alert_query.check(listing(status="closed"), REGISTRY)
    with pytest.raises(BadCursorError, match="cursor"):
        alert_query.check(listing(cursor="not-a-cursor"), REGISTRY)
    with pytest.raises(QueryError, match="limit"):
        alert_query.check(listing(limit=0), REGISTRY)
    good = Place(0, datetime(2025, 8, 7, tzinfo=UTC), "6e1d3f0c-8b1a-4d8e-9f61-103c0a5e2b7d")
    assert alert_query.check(listing(cursor=good.cursor()), REGISTRY).rule is None


def test_a_bad_alert_request_is_refused_before_any_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """The public role's counts too: the request is checked whoever asks."""
    monkeypatch.setattr(queries, "alert_counts", lambda *a: pytest.fail("read"))
    for bad in (
        alert_query.AlertsRequest(cursor="nope"),
        alert_query.AlertsRequest(kind="pair", scope="ICE"),
    ):
        with pytest.raises(QueryError):
            alert_query.alerts(None, CONFIG, bad, counts_only=True)  # type: ignore[arg-type]


def test_pages_need_a_limit_and_no_negative_offset() -> None:
    disclosure_query.check(disclosure_query.DisclosureRequest(limit=1))
    record_pages.check(record_pages.PageRequest(1, 0))
    for bad_disclosures, bad_page in (
        (disclosure_query.DisclosureRequest(limit=0), record_pages.PageRequest(0)),
        (disclosure_query.DisclosureRequest(offset=-1), record_pages.PageRequest(1, -1)),
    ):
        with pytest.raises(QueryError):
            disclosure_query.check(bad_disclosures)
        with pytest.raises(QueryError):
            record_pages.check(bad_page)


def test_typed_rows_print_as_json_in_field_order() -> None:
    day = VolumeDayRow(date(2025, 8, 7), "IRS", "ICE", 1, 9, 3, 1, 9)
    assert list(output.to_jsonable(day)) == [
        "day",
        "source_agency",
        "scope_value",
        "disclosures",
        "records",
        "prior_365_records",
        "disclosures_as_amended",
        "records_as_amended",
    ]
    assert output.to_jsonable([day])[0]["day"] == "2025-08-07"
