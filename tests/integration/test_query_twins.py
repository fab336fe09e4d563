"""`ledger query` / `ledger alerts` and their API twins over the demo history: one ops function
each, so the same question gets the same answer and the same bad one the same refusal."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from ledger.demo import history as demo_history
from tests.fixtures_scenario import ApiServer
from tests.integration.helpers import ledger_cli

pytestmark = pytest.mark.integration

ICE = "Immigration and Customs Enforcement"


def api(server: ApiServer, path: str, role: str = "overseer", **query: Any) -> httpx.Response:
    url = f"{server.url}{path}?{urlencode(query)}"
    headers = {"authorization": f"Bearer {server.tokens[role]}"}
    return httpx.get(url, headers=headers, timeout=30)


def cli(server: ApiServer, *args: str) -> Any:
    done = ledger_cli(server.ledger, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_same_question_gets_the_same_answer(api_server: ApiServer) -> None:
    day = {"since": "2025-08-07", "until": "2025-08-07"}
    by_cli = cli(api_server, "query", "--recipient", "Homeland Security", *_options(day))
    by_api = api(api_server, "/api/disclosures", recipient="Homeland Security", **day).json()
    assert by_cli["total"] == by_api["total"] == 1
    # The same rows with the same fields (times are the same instants, spelt by each encoder).
    assert [set(d) for d in by_cli["disclosures"]] == [set(d) for d in by_api["disclosures"]]
    same = ("event_id", "day", "recipient_agency", "legal_authority", "record_count")
    assert [[d[k] for k in same] for d in by_cli["disclosures"]] == [
        [d[k] for k in same] for d in by_api["disclosures"]
    ]
    assert by_cli["disclosures"][0]["record_count"] == demo_history.SPIKE_RECORDS

    halves = ("--recipient", ICE, "--authority", "I.R.C. 6103(i)(2)")
    series = cli(api_server, "query", "--volume", "pair", *halves)
    days = api(
        api_server, "/api/volume", "public", kind="pair", value=f"{ICE} under 26 USC 6103(i)(2)"
    ).json()
    assert days["more"] is False
    assert series == days["days"]
    assert max(d["records"] for d in series) == demo_history.SPIKE_RECORDS

    scope = {"rule": "spike_over_prior_year", "kind": "authority", "scope": "26 USC 6103(i)"}
    listed = cli(api_server, "alerts", *_options(scope))
    page = api(api_server, "/api/alerts", **scope).json()
    assert [a["alert_id"] for a in listed["alerts"]] == [a["alert_id"] for a in page["alerts"]]
    assert [a["scope"] for a in page["alerts"]] == ["IRS -> authority 6103(i)"]
    assert listed["more"] == page["more"]
    assert listed["next_cursor"] is None  # a last page: null in the CLI's JSON, absent in the API's
    assert "next_cursor" not in page


@pytest.mark.parametrize(
    ("cli_args", "path", "query", "says"),
    [
        (("alerts", "--kind", "agency"), "/api/alerts", {"kind": "agency"}, "pair"),
        (("alerts", "--kind", "pair", "--scope", "ICE"), "/api/alerts",
         {"kind": "pair", "scope": "ICE"}, "a pair scope needs both a recipient and an authority"),
        (("query", "--volume", "pair", "--recipient", "ICE"), "/api/volume",
         {"kind": "pair", "value": "ICE"}, "a pair scope needs both a recipient and an authority"),
        (("query", "--volume", "agency"), "/api/volume", {"kind": "agency"}, "pair"),
        (("alerts", "--cursor", "not-a-cursor"), "/api/alerts", {"cursor": "not-a-cursor"},
         "cursor: not a cursor an alerts listing gave out; list again without it"),
    ],
)  # fmt: skip
def test_the_same_bad_question_gets_the_same_refusal(
    api_server: ApiServer, cli_args: tuple[str, ...], path: str, query: dict[str, str], says: str
) -> None:
    refused = ledger_cli(api_server.ledger, *cli_args)
    assert refused.returncode == 2, (refused.stdout, refused.stderr)
    line = " ".join(refused.stderr.split())
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert says in line, line
    for role in ("public", "overseer"):  # checked before the role picks what to show
        answer = api(api_server, path, role, **query)
        assert answer.status_code == 422, (role, answer.text)
        assert says in answer.json()["error"], answer.text


def _options(values: dict[str, str]) -> list[str]:
    return [part for name, value in values.items() for part in (f"--{name}", value)]
