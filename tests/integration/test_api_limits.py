"""Hardening of the API, web and config parts (issue 23, item 8), each finding through the real
server, Kafka and PostgreSQL: rate limits, refused anonymous calls recorded compactly, named 4xx
for deep or huge inputs and long tile paths, the dashboard's security headers, token names, and
rules files that are validated."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.access_log import AccessLog
from ledger.api import create_app
from ledger.runtime import Ledger
from ledger.store.connection import connection
from ledger.store.tokens import create_token
from tests.fixtures_scenario import ApiServer, served
from tests.integration.helpers import cli_env, wait_until

pytestmark = pytest.mark.integration

SECURITY_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def ledger_cli(
    ledger: Ledger, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("ledger")
    assert exe, "the ledger console script is not installed"
    return subprocess.run(
        [exe, *args],
        env={**cli_env(ledger), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def access_bodies(ledger: Ledger, where: str, params: tuple[Any, ...]) -> list[tuple[Any, int]]:
    """(body, stored size of the body) of each LedgerAccessed entry matching ``where``."""
    with connection(ledger.admin_url, ledger.schema) as conn:
        rows = conn.execute(
            "SELECT body::jsonb AS body, length(body::text) FROM entries"
            f" WHERE event_type = 'LedgerAccessed' AND {where}",
            params,
        ).fetchall()
    return [(r[0], int(r[1])) for r in rows]


def own_server(
    api_server: ApiServer, monkeypatch: pytest.MonkeyPatch, **limits: str
) -> Iterator[tuple[str, str, dict[str, str]]]:
    """A second server over the demo history with its own access-log label and the limits given
    (set in the environment, as `ledger serve` reads them): (url, label, name -> overseer token)."""
    for name, value in limits.items():
        monkeypatch.setenv(name, value)
    led = api_server.ledger
    label = f"limits-{uuid.uuid4().hex[:8]}"
    audit = AccessLog(led.bootstrap, led.topics.disclosures, recorded_by=label)
    with connection(led.admin_url, led.schema) as conn:
        tokens = {
            name: create_token(conn, "overseer", f"{label}-{name}") for name in ("a", "b", "c")
        }
    with served(create_app(led.reader_only(), access_log=audit)) as url:
        yield url, label, tokens


@pytest.fixture
def compact_server(
    api_server: ApiServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, str, dict[str, str]]]:
    yield from own_server(api_server, monkeypatch, LEDGER_API_REFUSED_WINDOW="3")


@pytest.fixture
def limited_server(
    api_server: ApiServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, str, dict[str, str]]]:
    yield from own_server(
        api_server,
        monkeypatch,
        LEDGER_API_TOKEN_RATE="5",  # requests per minute per token
        LEDGER_API_ADDRESS_RATE="12",  # requests per minute per client address
    )


def _counted(body: dict[str, Any]) -> int:
    """How many calls one access entry stands for (a compact entry counts them)."""
    return int(body["query"].get("refused_calls", "1"))


def test_anonymous_422s_are_recorded_compactly(
    api_server: ApiServer, compact_server: tuple[str, str, dict[str, str]]
) -> None:
    url, label, _ = compact_server
    padding = "&".join(f"p{i}={'y' * 480}" for i in range(14))  # about 7 KB of unknown params
    calls = 200
    with httpx.Client(timeout=30) as client:
        for i in range(calls):
            r = client.get(f"{url}/api/disclosures?limit=0&n={i}&{padding}")
            assert r.status_code == 422, r.text
            assert r.json()["error"]
    where = "body::jsonb->>'recorded_by' = %s AND (body::jsonb->>'status')::int = 422"

    def all_counted() -> list[tuple[Any, int]]:
        found = access_bodies(api_server.ledger, where, (label,))
        return found if sum(_counted(b) for b, _ in found) >= calls else []

    found = wait_until(all_counted, 90, f"{calls} refused calls on record")
    print(f"{calls} refused calls: {len(found)} entries, {sum(n for _, n in found)} bytes")
    assert sum(_counted(b) for b, _ in found) == calls
    # One entry when a (client, status) first shows up in a window, one count when it closes:
    # the 200 calls fit in one or two windows of 3 seconds.
    assert len(found) <= 6, [b for b, _ in found]
    assert all(size < 2000 for _, size in found), [size for _, size in found]
    for body, _ in found:
        assert (body["accessor"], body["role"]) == ("anonymous", "none")
        assert body["query"]["client"] == "127.0.0.1"
        assert "p0" not in body["query"]  # the parameters of refused anonymous calls are not kept


def test_rate_limit_per_token_and_address(
    api_server: ApiServer, limited_server: tuple[str, str, dict[str, str]]
) -> None:
    url, label, tokens = limited_server

    def get(name: str) -> httpx.Response:
        auth = {"authorization": f"Bearer {tokens[name]}"}
        return httpx.get(f"{url}/api/alerts?limit=1", headers=auth, timeout=30)

    a = [get("a").status_code for _ in range(6)]
    assert a[:5] == [200] * 5, a
    assert a[5] == 429, a  # token a spent its 5 a minute
    refused = get("a")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "token" in refused.json()["error"]
    b = [get("b").status_code for _ in range(5)]
    assert b == [200] * 5, b  # another token has its own budget
    # 10 calls served from this address: two more (three, should the address's bucket have
    # refilled one while the test ran), then the address is refused whatever the token.
    c = []
    while not c or c[-1].status_code == 200:
        c.append(get("c"))
        assert len(c) <= 4, [r.status_code for r in c]
    assert 2 <= len(c) - 1 <= 3, [r.status_code for r in c]
    by_address = c[-1]
    assert by_address.status_code == 429
    assert "address" in by_address.json()["error"]
    assert int(by_address.headers["retry-after"]) >= 1
    anonymous = httpx.get(f"{url}/api/alerts", timeout=30)
    assert anonymous.status_code == 429
    # The refusals are on record, naming the token that was refused.
    body = wait_until(
        lambda: access_bodies(
            api_server.ledger,
            "body::jsonb->>'recorded_by' = %s AND (body::jsonb->>'status')::int = 429 AND body::jsonb->>'accessor' = %s",
            (label, f"{label}-a"),
        ),
        60,
        "the refused call of token a",
    )[0][0]
    assert body["action"] == "GET /api/alerts"


def test_long_tile_path_is_4xx(api_server: ApiServer) -> None:
    topic = api_server.ledger.topics.disclosures
    path = "0/" + "/".join(["x001"] * 1499) + "/001"
    auth = {"authorization": f"Bearer {api_server.tokens['public']}"}
    r = httpx.get(f"{api_server.url}/tiles/{topic}/0/tile/{path}", headers=auth, timeout=30)
    assert r.status_code == 400, (r.status_code, r.text[:200])
    assert "tile" in r.json()["error"]


def test_deep_json_body_is_4xx(api_server: ApiServer) -> None:
    auth = {"authorization": f"Bearer {api_server.tokens['auditor']}"}
    deep = "[" * 15000
    r = httpx.post(
        f"{api_server.url}/api/accounting",
        content=deep,
        headers={**auth, "content-type": "application/json"},
        timeout=30,
    )
    assert r.status_code == 422, (r.status_code, r.text[:200])
    assert "nested" in r.json()["error"]
    huge = httpx.post(
        f"{api_server.url}/api/accounting",
        content=json.dumps({"tin": "1" * 40000}),
        headers={**auth, "content-type": "application/json"},
        timeout=30,
    )
    assert huge.status_code == 413, huge.text[:200]


def test_dashboard_sends_security_headers(api_server: ApiServer) -> None:
    auth = {"authorization": f"Bearer {api_server.tokens['overseer']}"}
    answers = [
        httpx.get(f"{api_server.url}/", timeout=30),  # the sign-in page
        httpx.get(f"{api_server.url}/", headers=auth, timeout=30),  # the dashboard
        httpx.post(f"{api_server.url}/login", data={"token": "ldg_nope"}, timeout=30),
        httpx.get(f"{api_server.url}/api/alerts", headers=auth, timeout=30),
        httpx.get(f"{api_server.url}/api/no-such-thing", headers=auth, timeout=30),
        httpx.get(f"{api_server.url}/health", timeout=30),
    ]
    assert [r.status_code for r in answers] == [401, 200, 401, 200, 404, 200]
    for r in answers:
        for name, value in SECURITY_HEADERS.items():
            assert r.headers.get(name) == value, (r.url, name, dict(r.headers))
        csp = r.headers.get("content-security-policy", "")
        assert "default-src 'none'" in csp, (r.url, csp)
        assert "frame-ancestors 'none'" in csp, (r.url, csp)
        assert "script-src" not in csp  # no script may run at all


def test_token_name_must_be_unique_and_not_reserved(api_server: ApiServer) -> None:
    led = api_server.ledger
    name = f"unique-{uuid.uuid4().hex[:8]}"
    first = ledger_cli(led, "token", "create", "--role", "public", "--name", name)
    assert first.returncode == 0, first.stderr
    for taken in (name, f"  {name.upper()} ", "anonymous", "Anonymous", "unknown-token", "   "):
        again = ledger_cli(led, "token", "create", "--role", "public", "--name", taken)
        assert again.returncode == 2, (taken, again.stdout, again.stderr)
        assert again.stderr.strip().count("\n") == 0, again.stderr
        assert "Traceback" not in again.stderr
        assert not again.stdout.strip().startswith("ldg_")
    listed = json.loads(ledger_cli(led, "token", "list", "--json").stdout)
    assert [t["name"].lower() for t in listed].count(name) == 1
    assert "anonymous" not in [t["name"].lower() for t in listed]


def test_access_records_carry_the_token_id(api_server: ApiServer) -> None:
    led = api_server.ledger
    name = f"with-id-{uuid.uuid4().hex[:8]}"
    made = ledger_cli(led, "token", "create", "--role", "public", "--name", name)
    assert made.returncode == 0, made.stderr
    [mine] = [
        t
        for t in json.loads(ledger_cli(led, "token", "list", "--json").stdout)
        if t["name"] == name
    ]
    auth = {"authorization": f"Bearer {made.stdout.strip()}"}
    assert httpx.get(f"{api_server.url}/api/alerts", headers=auth, timeout=30).status_code == 200
    [(body, _)] = wait_until(
        lambda: access_bodies(led, "body::jsonb->>'accessor' = %s", (name,)), 60, "the access entry"
    )
    assert body["token_id"] == mine["token_id"]


def test_negative_warmup_days_is_refused(api_server: ApiServer, tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[spike_over_prior_year]\nwarmup_days = -5\n")
    done = ledger_cli(
        api_server.ledger, "alerts", "--first-seen", env={"LEDGER_RULES_FILE": str(rules)}
    )
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "warmup_days" in done.stderr
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert "Traceback" not in done.stderr


def test_rules_file_must_be_a_regular_file(api_server: ApiServer, tmp_path: Path) -> None:
    fifo = tmp_path / "rules.fifo"
    os.mkfifo(fifo)
    for special in (fifo, Path("/dev/zero")):
        try:
            done = ledger_cli(
                api_server.ledger,
                "alerts",
                "--first-seen",
                env={"LEDGER_RULES_FILE": str(special)},
                timeout=60,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"reading the rules file {special} hung")
        assert done.returncode == 2, (special, done.returncode, done.stderr)
        assert "regular file" in done.stderr, done.stderr
