"""The access record of any request can be built and stored: odd input redacted, never dropped."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.access_log import (
    MAX_PARAMS,
    NOT_RECORDED,
    REDACTED_REF,
    REDACTED_TIN,
    AccessLog,
    AccessLogUnavailableError,
    recordable,
    recordable_query,
)
from ledger.api.limits import ApiLimits, Buckets, RateLimiter
from ledger.api.refs import withhold_refs
from ledger.api.refusals import record_due
from ledger.errors import ConfigError
from ledger.events import LedgerAccessed
from ledger.privacy import contains_tin_shape
from ledger.storable import record_problems, text_problem
from ledger.store.tokens import check_name, parse_expiry

LOG = AccessLog("127.0.0.1:1", "unused")  # builds events only; never connects here


@pytest.mark.parametrize(
    ("given_text", "recorded"),
    [
        ("Bureau of the Census", "Bureau of the Census"),
        ("\x00", "[redacted: contains a NUL character]"),
        ("a\ud800b", "[redacted: contains a lone surrogate (not valid Unicode text)]"),
        ("975-00-4242", REDACTED_TIN),
        ("ICE 975004242", REDACTED_TIN),
        ("12-3456789", REDACTED_TIN),
        ("ab" * 32, REDACTED_REF),
        ("D-20250807-900000", "D-20250807-900000"),
    ],
)
def test_recordable(given_text: str, recorded: str) -> None:
    assert recordable(given_text) == recorded


def test_long_values_are_cut_and_say_so_without_leaving_nine_digits() -> None:
    cut = recordable("x" * 600)
    assert cut.startswith("x" * 512)
    assert "truncated: 600 characters" in cut
    assert recordable("x" * 503 + "1234567890123") == REDACTED_TIN  # cut after nine digits


def test_repeated_and_excess_parameters_are_all_accounted_for() -> None:
    q = recordable_query([("a", "1"), ("a", "2"), ("a", "3")])
    assert q == {"a": "1", "a (2)": "2", "a (3)": "3"}
    many = recordable_query((f"p{i}", "v") for i in range(MAX_PARAMS + 5))
    assert len(many) == MAX_PARAMS + 1
    assert many[NOT_RECORDED] == "5 more parameter(s)"


ANY_CHAR = st.characters(exclude_categories=())  # lone surrogates and NUL included
DIGITS_AND_TEXT = st.text(ANY_CHAR, max_size=80) | st.from_regex(r"\A[0-9 -]{9,14}\Z")


@settings(max_examples=300, derandomize=True)
@given(
    accessor=st.text(ANY_CHAR, max_size=40),
    action=st.text(ANY_CHAR, max_size=40),
    params=st.lists(st.tuples(DIGITS_AND_TEXT, DIGITS_AND_TEXT), max_size=40),
    returned=st.integers(min_value=-(2**70), max_value=2**70),
    status=st.integers(min_value=100, max_value=599),
)
def test_any_request_yields_a_storable_event(
    accessor: str, action: str, params: list[tuple[str, str]], returned: int, status: int
) -> None:
    event = LOG.event(accessor, "public", action, params, returned, status)
    assert isinstance(event, LedgerAccessed)
    assert record_problems(event.to_record()) == []
    texts = [event.accessor, event.action, *event.query, *event.query.values()]
    assert not [t for t in texts if text_problem(t) or contains_tin_shape(t)]
    assert event.status == status
    assert 0 <= event.records_returned <= 2**53


def test_withhold_refs_keeps_digests_and_counts_refs() -> None:
    ref = "0123456789abcdef" * 4
    body = {
        "taxpayer_refs": [ref, ref],
        "manifest_sha256": "f" * 64,
        "changes": {"note": f"was {ref}"},
        "purpose": "x",
    }
    out, n = withhold_refs(body)
    assert n == 3
    assert "taxpayer_refs" not in out
    assert out["manifest_sha256"] == "f" * 64
    assert ref not in str(out)


NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expires_in", "delta"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("90m", timedelta(minutes=90)),
        ("2w", timedelta(weeks=2)),
        ("45s", timedelta(seconds=45)),
    ],
)
def test_expires_in(expires_in: str, delta: timedelta) -> None:
    assert parse_expiry(expires_in, None, NY, NOW) == NOW + delta


def test_expires_on_a_day_starts_that_day_in_the_ledger_time_zone() -> None:
    assert parse_expiry(None, "2026-02-01", NY, NOW) == datetime(2026, 2, 1, 5, tzinfo=UTC)
    assert parse_expiry(None, None, NY, NOW) is None


@pytest.mark.parametrize(
    ("expires_in", "expires"),
    [
        ("0d", None),
        ("soon", None),
        ("3y", None),
        (None, "2026-01-15"),
        (None, "tomorrow"),
        ("1d", "2026-02-01"),
    ],
)
def test_bad_expiry_is_a_config_error(expires_in: str | None, expires: str | None) -> None:
    with pytest.raises(ConfigError):
        parse_expiry(expires_in, expires, NY, NOW)


@pytest.mark.parametrize("name", ["", "  ", "x" * 101, "a\x00b", "ssn 975-00-4242"])
def test_token_names_must_be_short_storable_text(name: str) -> None:
    with pytest.raises(ConfigError):
        check_name(name)


class CollectingLog(AccessLog):
    """Keeps the events instead of sending them; ``fail`` makes Kafka 'unavailable'."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__("127.0.0.1:1", "unused")
        self.sent: list[LedgerAccessed] = []
        self.fail = fail

    def send(self, event: LedgerAccessed) -> None:
        if self.fail:
            raise AccessLogUnavailableError("Kafka is down (test)")
        self.sent.append(event)

    def connect(self) -> bool:
        return True


def app_with(log: AccessLog) -> Any:
    from ledger.api import create_app
    from ledger.config import Settings
    from ledger.runtime import Ledger

    ledger = Ledger(
        Settings.from_env({}), "127.0.0.1:1", "", "", "postgresql://unused@127.0.0.1:1/x"
    )
    app = create_app(ledger, access_log=log)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    return app


def get(app: Any, path: str, **kw: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.request(kw.pop("method", "GET"), path, **kw)

    return anyio.run(go)


def test_unexpected_errors_and_refusals_are_recorded_without_services() -> None:
    log = CollectingLog()
    app = app_with(log)
    r = get(app, "/boom")
    assert r.status_code == 500
    assert r.json() == {"error": "internal error; the server log has the details"}
    assert get(app, "/api/alerts?rule=r").status_code == 401
    assert get(app, "/api/alerts?rule=%00").status_code == 422
    big = get(app, "/login", method="POST", content=b"token=" + b"x" * 17_000)
    assert big.status_code == 413
    # A server error is recorded at once, with its parameters; refusals of callers without a
    # valid token are counted, and recorded per (address, status, window) when it closes.
    assert [(e.action, e.status, e.accessor) for e in log.sent] == [
        ("GET /boom", 500, "anonymous"),
    ]
    assert get(app, "/api/alerts?rule=s").status_code == 401
    anyio.run(partial(record_due, app.state.refusals, log, time.time(), everything=True))
    counted = sorted(
        (e.status, e.action, e.accessor, e.query["refused_calls"]) for e in log.sent[1:]
    )
    assert counted == [
        (401, "GET /api/alerts", "anonymous", "2"),
        (413, "POST /login", "anonymous", "1"),
        (422, "GET /api/alerts", "anonymous", "1"),
    ]
    for e in log.sent[1:]:
        assert set(e.query) == {
            "client",
            "refused_calls",
            "window_start",
            "window_seconds",
            "actions",
        }
        assert e.records_returned == 0


def test_no_acknowledgement_no_answer() -> None:
    log = CollectingLog(fail=True)
    app = app_with(log)
    r = get(app, "/boom")
    assert r.status_code == 503
    assert "access log is unavailable" in r.json()["error"]
    # A refusal without a valid token serves nothing: it is counted, and its count waits for
    # Kafka (put back, not lost) when the window's entry cannot be recorded.
    assert get(app, "/nowhere").status_code == 404
    anyio.run(partial(record_due, app.state.refusals, log, time.time(), everything=True))
    assert len(app.state.refusals) == 1


def test_a_bucket_refills_evenly_and_a_refused_call_takes_nothing() -> None:
    b = Buckets(60)  # one a second
    for _ in range(60):
        assert b.wait("k", 0.0) == 0.0
        b.take("k", 0.0)
    assert b.wait("k", 0.0) == pytest.approx(1.0)
    assert b.wait("k", 0.5) == pytest.approx(0.5)  # asking took nothing
    assert b.wait("k", 1.0) == 0.0
    assert b.wait("other", 0.0) == 0.0


def test_the_limiter_refuses_by_token_then_by_address_and_says_when() -> None:
    limiter = RateLimiter(ApiLimits(token_per_minute=2, address_per_minute=3))
    assert limiter.check("t1", "a", 0.0) is None
    assert limiter.check("t1", "a", 0.0) is None
    assert limiter.check("t1", "a", 0.0) == ("token", 30)
    assert limiter.check("t2", "a", 0.0) is None
    assert limiter.check("t2", "a", 0.0) == ("address", 20)
    assert limiter.check(None, "b", 0.0) is None


def test_limits_come_from_the_environment_and_bad_ones_are_refused() -> None:
    assert ApiLimits.from_env({}) == ApiLimits()
    got = ApiLimits.from_env({"LEDGER_API_TOKEN_RATE": "5", "LEDGER_API_REFUSED_WINDOW": "3"})
    assert (got.token_per_minute, got.refused_window) == (5, 3)
    for bad in ("0", "-1", "ten", "99999999"):
        with pytest.raises(ConfigError):
            ApiLimits.from_env({"LEDGER_API_ADDRESS_RATE": bad})


@pytest.mark.parametrize("name", ["anonymous", "Anonymous ", "unknown-token", "  "])
def test_reserved_and_empty_token_names_are_refused(name: str) -> None:
    with pytest.raises(ConfigError):
        check_name(name)


def test_a_call_over_the_limit_is_429_and_named_in_its_count() -> None:
    from ledger.api import create_app
    from ledger.config import Settings
    from ledger.runtime import Ledger

    log = CollectingLog()
    ledger = Ledger(
        Settings.from_env({}), "127.0.0.1:1", "", "", "postgresql://unused@127.0.0.1:1/x"
    )
    app = create_app(ledger, access_log=log, limits=ApiLimits(address_per_minute=2))
    assert [get(app, "/api/alerts").status_code for _ in range(3)] == [401, 401, 429]
    limited = get(app, "/api/alerts")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert "address" in limited.json()["error"]
    assert limited.headers["x-frame-options"] == "DENY"
    anyio.run(partial(record_due, app.state.refusals, log, time.time(), everything=True))
    counted = sorted((e.status, e.action, e.query["refused_calls"]) for e in log.sent)
    assert counted == [(401, "GET /api/alerts", "2"), (429, "GET /api/alerts", "2")]
