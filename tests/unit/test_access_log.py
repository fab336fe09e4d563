"""The access record of any request can be built and stored: odd input redacted, never dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
from ledger.api.refs import withhold_refs
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
    assert [(e.action, e.status, e.accessor) for e in log.sent] == [
        ("GET /boom", 500, "anonymous"),
        ("GET /api/alerts", 401, "anonymous"),
        ("GET /api/alerts", 422, "anonymous"),
        ("POST /login", 413, "anonymous"),
    ]
    assert log.sent[2].query == {"rule": "[redacted: contains a NUL character]"}
    assert log.sent[3].query == {}  # the login form holds a token: never recorded


def test_no_acknowledgement_no_answer() -> None:
    app = app_with(CollectingLog(fail=True))
    for path in ("/api/alerts", "/boom", "/nowhere"):
        r = get(app, path)
        assert r.status_code == 503
        assert "access log is unavailable" in r.json()["error"]
