"""The endpoint tables in the docs say what the API's own OpenAPI document says.

Every row (`| \\`GET /path?a=&b=\\` | role | what |`) in README.md and docs/overseer.md must name an
operation the app serves with exactly its query parameters, every value of a parameter that takes
a fixed set (`kind=pair`...) must appear in the row, and docs/overseer.md must list every
operation. The app builds its OpenAPI document without Kafka or PostgreSQL (nothing connects
before the first request), so this is a unit test.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ledger.api.app import create_app
from ledger.config import Settings
from ledger.runtime import Ledger

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\| `(GET|POST|PUT|PATCH|DELETE) ([^`\s]+)`")
NOWHERE = "postgresql://nobody@127.0.0.1:1/none"


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    settings = Settings.from_env({"LEDGER_DATA_DIR": str(tmp_path_factory.mktemp("data"))})
    app = create_app(Ledger(settings, "127.0.0.1:1", NOWHERE, NOWHERE, NOWHERE))
    return app.openapi()


def operations(openapi: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): op
        for path, methods in openapi["paths"].items()
        for method, op in methods.items()
    }


def documented(doc: Path) -> list[tuple[str, str, set[str], str]]:
    """(method, path, query parameter names, the whole row) of each endpoint row."""
    rows = []
    for line in doc.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            path, _, query = match.group(2).partition("?")
            names = {part.split("=")[0] for part in query.split("&") if part}
            rows.append((match.group(1), path, names, line))
    return rows


def choices(parameter: dict[str, Any]) -> list[str]:
    """The fixed values a parameter takes (an enum, or a pattern like ^(a|b)$), if any."""
    schemas = [parameter["schema"], *parameter["schema"].get("anyOf", [])]
    for schema in schemas:
        if "enum" in schema:
            return [str(v) for v in schema["enum"]]
        found = re.fullmatch(r"\^\(([\w|]+)\)\$", schema.get("pattern", ""))
        if found:
            return found.group(1).split("|")
    return []


@pytest.mark.parametrize("name", ["README.md", "docs/overseer.md"])
def test_every_documented_endpoint_row_matches_the_openapi_document(
    name: str, openapi: dict[str, Any]
) -> None:
    served = operations(openapi)
    wrong = []
    for method, path, names, row in documented(ROOT / name):
        op = served.get((method, path))
        if op is None:
            wrong.append(f"{method} {path}: not served")
            continue
        query = [p for p in op.get("parameters", []) if p["in"] == "query"]
        if names != {p["name"] for p in query}:
            wrong.append(
                f"{method} {path}: documented ?{sorted(names)}, served ?{sorted(p['name'] for p in query)}"
            )
        for parameter in query:
            missing = [v for v in choices(parameter) if f"`{v}`" not in row]
            if missing:
                wrong.append(f"{method} {path}: {parameter['name']} values {missing} not named")
    assert wrong == [], f"{name}'s endpoint table disagrees with /openapi.json"


def test_the_overseer_guide_lists_every_operation(openapi: dict[str, Any]) -> None:
    listed = {(m, p) for m, p, _, _ in documented(ROOT / "docs" / "overseer.md")}
    assert set(operations(openapi)) - listed == set()
