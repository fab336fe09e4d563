"""Nothing the overseen or the public sends can silence or fool the ledger: every call recorded
(refused ones too, odd parameters redacted, never dropped), 503 rather than serve unrecorded,
capped bodies and lists, tokens that expire and are revoked, taxpayer refs only for auditors,
and a server that holds only the reader's database credentials."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from ledger.access_log import AccessLog
from ledger.api import create_app
from ledger.keys import load_signers, signing_key_path
from ledger.localdev.ports import free_port
from ledger.runtime import Ledger
from ledger.store.connection import connection
from ledger.tlog.offline import check_proof_file
from tests.fixtures_scenario import ApiServer, served
from tests.integration.helpers import wait_until

pytestmark = pytest.mark.integration

NUL_REDACTED = "[redacted: contains a NUL character]"
TIN_REDACTED = "[redacted: shaped like an SSN, ITIN or EIN]"


def call(
    api: ApiServer, method: str, path: str, role: str | None = None, **kw: Any
) -> httpx.Response:
    headers = {"authorization": f"Bearer {api.tokens[role]}"} if role else {}
    headers.update(kw.pop("headers", {}))
    return httpx.request(method, api.url + path, headers=headers, timeout=30, **kw)


def access_entries(
    ledger: Ledger, where: str, params: tuple[Any, ...] = ()
) -> list[dict[str, Any]]:
    with connection(ledger.admin_url, ledger.schema) as conn:
        rows = conn.execute(
            f"SELECT body::jsonb AS body FROM entries WHERE event_type = 'LedgerAccessed' AND {where}",
            params,
        ).fetchall()
    return [r[0] for r in rows]


def wait_for_access(ledger: Ledger, where: str, params: tuple[Any, ...] = ()) -> dict[str, Any]:
    found = wait_until(
        lambda: access_entries(ledger, where, params), 60, f"an access entry where {where} {params}"
    )
    assert len(found) == 1, found
    return found[0]


# --- (a) odd parameters are recorded redacted, never dropped -------------------------------------


def test_nul_parameter_is_answered_and_recorded_redacted(api_server: ApiServer) -> None:
    marker = f"nul-{uuid.uuid4().hex[:8]}"
    r = call(api_server, "GET", f"/api/volume?kind=source&value=%00&source={marker}", "public")
    assert r.status_code < 500, r.text
    assert "\x00" not in r.text
    body = wait_for_access(api_server.ledger, "body::jsonb->'query'->>'source' = %s", (marker,))
    assert body["query"]["value"] == NUL_REDACTED
    assert body["accessor"] == "test-public"
    assert body["role"] == "public"
    assert body["status"] == r.status_code
    assert body["action"] == "GET /api/volume"


def test_tin_shaped_parameter_is_recorded_redacted(api_server: ApiServer) -> None:
    marker = f"tin-{uuid.uuid4().hex[:8]}"
    r = call(
        api_server, "GET", f"/api/disclosures?recipient=975-00-4242&source={marker}", "overseer"
    )
    assert r.status_code == 200
    body = wait_for_access(api_server.ledger, "body::jsonb->'query'->>'source' = %s", (marker,))
    assert body["query"]["recipient"] == TIN_REDACTED
    assert body["status"] == 200
    assert not access_entries(api_server.ledger, "body::text LIKE %s", ("%975-00-4242%",))


# --- (b) refused calls are recorded with their status ------------------------------------------


def test_refused_calls_are_recorded_with_their_status(api_server: ApiServer) -> None:
    m = uuid.uuid4().hex[:8]
    missing = str(uuid.uuid4())
    cases = [  # (status, method, path, role, how to find its record)
        (401, "GET", f"/api/volume?value=m401-{m}", None, ("value", f"m401-{m}")),
        (401, "GET", f"/api/volume?value=m401b-{m}", "bogus", ("value", f"m401b-{m}")),
        (403, "GET", f"/api/disclosures?recipient=m403-{m}", "public", ("recipient", f"m403-{m}")),
        (404, "GET", f"/api/entries/{missing}", "overseer", ("event_id", missing)),
        (404, "GET", f"/api/no-such-thing?x=m404-{m}", "overseer", ("x", f"m404-{m}")),
        (
            422,
            "GET",
            f"/api/disclosures?limit=0&recipient=m422-{m}",
            "overseer",
            ("recipient", f"m422-{m}"),
        ),
        (
            422,
            "GET",
            f"/api/disclosures?recipient=m422b-{m}&recipient=again",
            "overseer",
            ("recipient", f"m422b-{m}"),
        ),
        (405, "DELETE", f"/api/alerts?rule=m405-{m}", "auditor", ("rule", f"m405-{m}")),
    ]
    for status, method, path, role, _ in cases:
        headers = {"authorization": "Bearer ldg_not-a-token"} if role == "bogus" else {}
        r = call(api_server, method, path, None if role == "bogus" else role, headers=headers)
        assert r.status_code == status, (path, r.status_code, r.text)
        assert r.json()["error"]
    for status, method, _, role, (param, value) in cases:
        if role in (None, "bogus"):
            continue  # counted per window, not one by one: test_anonymous_422s_are_recorded_compactly
        body = wait_for_access(api_server.ledger, "body::jsonb->'query'->>%s = %s", (param, value))
        assert body["status"] == status, body
        assert body["records_returned"] == 0
        assert body["action"].startswith(method + " ")
        assert (body["accessor"], body["role"]) == (f"test-{role}", role)
    unmatched = wait_for_access(
        api_server.ledger, "body::jsonb->'query'->>'x' = %s", (f"m404-{m}",)
    )
    assert unmatched["action"] == "GET [no such endpoint]"
    assert unmatched["query"]["path"] == "/api/no-such-thing"


# --- (c) no Kafka, no answer -----------------------------------------------------------------------


def test_kafka_unreachable_means_503_not_unrecorded_service(api_server: ApiServer) -> None:
    closed = AccessLog(
        f"127.0.0.1:{free_port()}", api_server.ledger.topics.disclosures, timeout=1, retry_after=60
    )
    app = create_app(api_server.ledger.reader_only(), access_log=closed)
    with served(app) as url:
        headers = {"authorization": f"Bearer {api_server.tokens['overseer']}"}
        for path in ("/api/disclosures?limit=5", "/api/volume", "/api/alerts", "/"):
            r = httpx.get(url + path, headers=headers, timeout=30)
            assert r.status_code == 503, (path, r.status_code, r.text[:200])
            assert "access log" in r.json()["error"]
            assert "disclosure_id" not in r.text
        started = time.monotonic()
        assert httpx.get(url + "/api/alerts", headers=headers, timeout=30).status_code == 503
        assert time.monotonic() - started < 0.9  # refuses at once while Kafka is known to be down
        assert httpx.get(url + "/health", timeout=30).json() == {"status": "ok"}


# --- (d) bodies are capped, and read only after the token -----------------------------------------


def test_body_over_16_kib_is_413(api_server: ApiServer) -> None:
    big = json.dumps({"tin": "9" * 20_000}).encode()
    r = call(
        api_server,
        "POST",
        "/api/accounting",
        "auditor",
        content=big,
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413
    assert "16 KiB" in r.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"tin": "'
        for _ in range(20):
            yield b"9" * 1024
        yield b'"}'

    r = call(
        api_server,
        "POST",
        "/api/accounting",
        "auditor",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413
    # Without a valid token the body is never read: 401, not 413.
    assert call(api_server, "POST", "/api/accounting", None, content=big).status_code == 401
    assert call(api_server, "POST", "/api/accounting", "overseer", content=big).status_code == 403
    r = call(
        api_server,
        "POST",
        "/login",
        None,
        content=b"token=" + b"x" * 20_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413


def test_lists_are_capped(api_server: ApiServer) -> None:
    for path, role in [
        ("/api/disclosures?limit=1001", "overseer"),
        ("/api/alerts?limit=1001", "overseer"),
        ("/api/volume?limit=5001", "public"),
        ("/api/notices?limit=1001", "overseer"),
        ("/api/court-orders?limit=1001", "overseer"),
        ("/api/disclosures?offset=100000000000000000000", "overseer"),
        ("/api/volume?since=0001-01-01", "public"),
    ]:
        r = call(api_server, "GET", path, role)
        assert r.status_code == 422, (path, r.text)
    page = call(api_server, "GET", "/api/volume?kind=recipient&limit=3", "public").json()
    assert len(page["days"]) == 3
    assert page["more"] is True
    following = call(api_server, "GET", "/api/volume?kind=recipient&limit=3&offset=3", "public")
    assert following.json()["days"][0] != page["days"][0]


def test_metrics_are_served_to_the_public_role(api_server: ApiServer) -> None:
    # The caching itself is tested with a clock of its own (tests/unit/test_metrics_cache.py).
    answer = call(api_server, "GET", "/metrics", "public")
    assert answer.status_code == 200
    assert "ledger_entries_total" in answer.text


def test_cookie_only_for_a_valid_token(api_server: ApiServer) -> None:
    bad = httpx.get(api_server.url + "/?token=ldg_forged", timeout=30, follow_redirects=False)
    assert bad.status_code == 401
    assert "set-cookie" not in bad.headers
    good = httpx.get(
        api_server.url + f"/?token={api_server.tokens['overseer']}",
        timeout=30,
        follow_redirects=False,
    )
    assert good.status_code == 303
    cookie = good.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "secure" not in cookie  # plain http here; https (request scheme) adds Secure
    form = httpx.post(
        api_server.url + "/login", data={"token": "ldg_forged"}, timeout=30, follow_redirects=False
    )
    assert form.status_code == 401
    assert "set-cookie" not in form.headers
    # The token itself never enters the access log.
    assert not access_entries(api_server.ledger, "body::text LIKE %s", ("%ldg_forged%",))


def test_secure_cookie_over_tls(api_server: ApiServer) -> None:
    app = create_app(api_server.ledger.reader_only())
    transport = httpx.ASGITransport(app=app)

    async def sign_in() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="https://ledger.test") as client:
            return await client.get(f"/?token={api_server.tokens['overseer']}")

    import anyio

    try:
        r = anyio.run(sign_in)
    finally:
        app.state.access_log.close()
        app.state.pool.close()
    assert r.status_code == 303
    assert "secure" in r.headers["set-cookie"].lower()


# --- (e) tokens: list, revoke, expire, through the installed CLI -----------------------------------


def cli_env(ledger: Ledger) -> dict[str, str]:
    s = ledger.settings
    env = dict(os.environ)
    env.update(
        {
            "LEDGER_KAFKA_BOOTSTRAP": ledger.bootstrap,
            "LEDGER_DATABASE_URL": ledger.admin_url,
            "LEDGER_DATA_DIR": str(s.data_dir),
            "LEDGER_TOPIC_PREFIX": s.topics.prefix,
            "LEDGER_DB_SCHEMA": s.db_schema,
            "LEDGER_PARTITIONS": str(s.partitions),
        }
    )
    return env


def ledger_cli(ledger: Ledger, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("ledger")
    assert exe, "the ledger console script is not installed"
    return subprocess.run(
        [exe, *args], env=cli_env(ledger), capture_output=True, text=True, timeout=120, check=False
    )


def test_tokens_are_listed_revoked_and_expire_via_the_cli(api_server: ApiServer) -> None:
    ledger = api_server.ledger
    name = f"cli-{uuid.uuid4().hex[:8]}"
    made = ledger_cli(
        ledger, "token", "create", "--role", "public", "--name", name, "--expires-in", "30d"
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("ldg_")
    auth = {"authorization": f"Bearer {token}"}
    assert httpx.get(api_server.url + "/api/alerts", headers=auth, timeout=30).status_code == 200

    listed = ledger_cli(ledger, "token", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    mine = [t for t in json.loads(listed.stdout) if t["name"] == name]
    assert len(mine) == 1
    assert mine[0]["status"] == "active"
    assert mine[0]["role"] == "public"
    assert mine[0]["expires_at"]
    assert token not in listed.stdout

    revoked = ledger_cli(ledger, "token", "revoke", name)
    assert revoked.returncode == 0, revoked.stderr
    r = httpx.get(api_server.url + "/api/alerts", headers=auth, timeout=30)
    assert r.status_code == 401
    assert "revoked" in r.json()["error"]
    after = [
        t
        for t in json.loads(ledger_cli(ledger, "token", "list", "--json").stdout)
        if t["name"] == name
    ]
    assert after[0]["status"] == "revoked"
    assert after[0]["revoked_by"]
    # The revocation is itself in the verifiable log, and so is the refused call.
    act = wait_for_access(
        ledger,
        "body::jsonb->>'action' = 'token.revoke' AND body::jsonb->'query'->>'name' = %s",
        (name,),
    )
    assert act["query"]["token_id"] == mine[0]["token_id"]
    refused = wait_for_access(
        ledger, "body::jsonb->>'accessor' = %s AND (body::jsonb->>'status')::int = 401", (name,)
    )
    assert refused["role"] == "public"

    again = ledger_cli(ledger, "token", "revoke", mine[0]["token_id"])
    assert again.returncode == 0
    assert "already revoked" in again.stdout
    unknown = ledger_cli(ledger, "token", "revoke", f"nobody-{uuid.uuid4().hex[:6]}")
    assert unknown.returncode == 2
    assert unknown.stderr.count("\n") == 1
    bad = ledger_cli(
        ledger, "token", "create", "--role", "public", "--name", "x", "--expires-in", "soon"
    )
    assert bad.returncode == 2
    past = ledger_cli(
        ledger, "token", "create", "--role", "public", "--name", "x", "--expires", "2020-01-01"
    )
    assert past.returncode == 2

    short = ledger_cli(
        ledger,
        "token",
        "create",
        "--role",
        "public",
        "--name",
        f"{name}-short",
        "--expires-in",
        "2s",
    )
    assert short.returncode == 0, short.stderr
    short_auth = {"authorization": f"Bearer {short.stdout.strip()}"}
    assert (
        httpx.get(api_server.url + "/api/alerts", headers=short_auth, timeout=30).status_code == 200
    )
    time.sleep(2.2)
    r = httpx.get(api_server.url + "/api/alerts", headers=short_auth, timeout=30)
    assert r.status_code == 401
    assert "expired" in r.json()["error"]


# --- (f) taxpayer refs stay with the auditor -------------------------------------------------------


def _decoded_values(blob: Any) -> Iterator[str]:
    """Every base64 ``value`` in a JSON response, decoded: message bytes carry refs as ASCII."""
    if isinstance(blob, dict):
        for k, v in blob.items():
            if k == "value" and isinstance(v, str):
                yield base64.b64decode(v).decode("latin-1")
            else:
                yield from _decoded_values(v)
    elif isinstance(blob, list):
        for v in blob:
            yield from _decoded_values(v)


def test_no_taxpayer_ref_below_the_auditor(api_server: ApiServer, tmp_path: Path) -> None:
    ledger = api_server.ledger
    with connection(ledger.admin_url, ledger.schema) as conn:
        refs = {r[0] for r in conn.execute("SELECT DISTINCT ref FROM taxpayer_refs")}
        with_refs = [
            r[0]
            for r in conn.execute(
                "SELECT event_id::text FROM entries WHERE jsonb_array_length(COALESCE(body::jsonb->'taxpayer_refs', '[]')) > 0"
            )
        ]
        spike_day = conn.execute(
            "SELECT day FROM disclosures ORDER BY record_count DESC LIMIT 1"
        ).fetchone()[0]
        recent = [
            r[0]
            for r in conn.execute(
                "SELECT event_id::text FROM entries ORDER BY recorded_at DESC LIMIT 20"
            )
        ]
    assert refs  # the demo's manifest chunks
    assert with_refs
    paths = [
        "/api/disclosures?limit=1000",
        "/api/volume?kind=recipient&limit=5000",
        "/api/alerts",
        "/api/notices",
        "/api/court-orders",
        "/api/checkpoints",
        "/metrics",
        f"/?kind=recipient&scope=U.S. Immigration and Customs Enforcement&day={spike_day}",
    ] + [p for e in with_refs + recent for p in (f"/api/entries/{e}", f"/api/entries/{e}/proof")]
    checked = 0
    for role in ("overseer", "public"):
        for path in paths:
            r = call(api_server, "GET", path, role)
            assert r.status_code in (200, 403), (role, path, r.status_code, r.text[:200])
            texts = [r.text]
            if r.headers.get("content-type", "").startswith("application/json"):
                texts += list(_decoded_values(r.json()))
            leaked = [ref for ref in refs for t in texts if ref in t]
            assert not leaked, (role, path)
            checked += r.status_code == 200
    assert checked > len(paths)

    # Withheld, yet provable: the overseer's proof of a manifest chunk verifies offline.
    overseer = call(api_server, "GET", f"/api/entries/{with_refs[0]}", "overseer").json()
    assert "value" not in overseer["proof"]
    assert overseer["entry"]["taxpayer_refs_withheld"] > 0
    assert "taxpayer_refs" not in overseer["entry"]["body"]
    saved = tmp_path / "proof.json"
    saved.write_bytes(
        call(api_server, "GET", f"/api/entries/{with_refs[0]}/proof", "overseer").content
    )
    vkeys = [s.vkey for s in load_signers(signing_key_path(ledger.settings))]
    assert "withheld" in check_proof_file(saved, vkeys).detail
    # The auditor sees them, bytes and all.
    auditor = call(api_server, "GET", f"/api/entries/{with_refs[0]}", "auditor").json()
    assert set(auditor["entry"]["body"]["taxpayer_refs"]) <= refs
    assert any(ref in v for v in _decoded_values(auditor) for ref in refs)


# --- (g) no taxpayer key, no made-up key -----------------------------------------------------------


def test_accounting_without_a_configured_key_refuses(api_server: ApiServer, tmp_path: Path) -> None:
    bare = dataclasses.replace(
        ledger_settings := api_server.ledger.settings, data_dir=tmp_path, taxpayer_key_file=None
    )
    assert ledger_settings.data_dir != tmp_path
    ledger = dataclasses.replace(api_server.ledger.reader_only(), settings=bare)
    with served(create_app(ledger)) as url:
        r = httpx.post(
            url + "/api/accounting",
            json={"tin": "975004242"},
            timeout=30,
            headers={"authorization": f"Bearer {api_server.tokens['auditor']}"},
        )
    assert r.status_code == 503
    assert "LEDGER_TAXPAYER_KEY_FILE" in r.json()["error"]
    assert not list(tmp_path.rglob("*.key"))  # and no key was generated


# --- (h) the server's database role cannot mint tokens or fake migrations --------------------------


@pytest.mark.parametrize("who", ["writer", "reader"])
def test_serving_and_consuming_roles_cannot_insert_tokens_or_migrations(
    api_server: ApiServer, who: str
) -> None:
    ledger = api_server.ledger
    url = ledger.writer_url if who == "writer" else ledger.reader_url
    statements = [
        "INSERT INTO api_tokens (token_id, name, role, token_sha256) VALUES"
        " (gen_random_uuid(), 'mine', 'auditor', sha256('x'::bytea))",
        "INSERT INTO api_token_revocations (token_id) SELECT token_id FROM api_tokens LIMIT 1",
        "INSERT INTO schema_migrations (version, name) VALUES (999, '999_fake.sql')",
    ]
    for statement in statements:
        with (
            connection(url, ledger.schema) as conn,
            pytest.raises(psycopg.errors.InsufficientPrivilege) as info,
        ):
            conn.execute(statement)
        assert "permission denied" in str(info.value)


def test_ledger_serve_runs_with_the_reader_credentials_only(api_server: ApiServer) -> None:
    ledger = api_server.ledger
    env = cli_env(ledger)
    del env["LEDGER_DATABASE_URL"]
    env["LEDGER_READER_DATABASE_URL"] = ledger.reader_url
    port = free_port()
    proc = subprocess.Popen(
        [shutil.which("ledger") or "ledger", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(url + "/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                assert proc.poll() is None, proc.communicate()[1]
                return False

        wait_until(up, 60, "ledger serve")
        auth = {"authorization": f"Bearer {api_server.tokens['public']}"}
        assert httpx.get(url + "/api/alerts", headers=auth, timeout=30).status_code == 200
    finally:
        proc.terminate()
        proc.wait(15)
