"""The API against its own OpenAPI document, with schemathesis, as every role and as nobody.

For each operation, schemathesis generates valid and invalid requests (derandomized: the same
cases on every run); each is sent with the auditor's, the overseer's and the public token and with
none, to the real server over the demo history. No answer may be a 5xx, and none may break the
schema the API publishes for it (errors included: always {"error": "..."}).

A small budget keeps CI fast; LEDGER_SCHEMATHESIS_EXAMPLES=200 (say) runs a longer search.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.fixtures_scenario import ApiServer

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("LEDGER_SCHEMATHESIS_EXAMPLES", "6"))
CHECKS = [not_a_server_error, response_schema_conformance]


def test_every_operation_as_every_role_keeps_to_the_schema(api_server: ApiServer) -> None:
    schema = schemathesis.openapi.from_url(api_server.url + "/openapi.json", timeout=30)
    identities: list[dict[str, str]] = [{}] + [
        {"authorization": f"Bearer {api_server.tokens[role]}"}
        for role in ("auditor", "overseer", "public")
    ]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {
        "/api/disclosures",
        "/api/volume",
        "/api/alerts",
        "/api/notices",
        "/api/court-orders",
        "/api/checkpoints",
        "/api/entries/{event_id}",
        "/api/entries/{event_id}/proof",
        "/api/accounting",
        "/metrics",
        "/",
        "/login",
    }
    statuses: dict[int, int] = {}
    exercised: set[tuple[str, str]] = set()
    for operation in operations:
        takes_input = any(len(params) for params in (operation.query, operation.path_parameters))
        takes_input = takes_input or bool(len(operation.body))
        modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if takes_input else [])
        for mode in modes:

            @settings(
                max_examples=EXAMPLES,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate, Phase.shrink],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                for headers in identities:
                    response = case.call(base_url=api_server.url, headers=headers, timeout=30)
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                    case.validate_response(response, checks=CHECKS, headers=headers)

            try:
                run()
            except Unsatisfiable:
                # Every input of this operation is free text: there is no invalid form of it.
                assert mode is GenerationMode.NEGATIVE, operation.label
                continue
            exercised.add((operation.label, mode.value))
    assert not [s for s in statuses if s >= 500], statuses
    negative = {label for label, mode in exercised if mode == GenerationMode.NEGATIVE.value}
    assert {"GET /api/disclosures", "GET /api/volume", "POST /api/accounting", "GET /"} <= negative
    assert {200, 401, 403, 422} <= set(statuses), statuses  # the run reached past the doors
