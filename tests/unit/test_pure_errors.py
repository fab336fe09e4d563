"""The pure layers (tlog/, rules/) raise errors without knowing how an edge reports them: no
exit codes, no HTTP statuses, no web framework (ledger/errors.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ledger

ROOT = Path(ledger.__file__).resolve().parent
PURE = ("tlog", "rules")
FORBIDDEN_NAMES = ("ExitCode", "exit_code", "exit_codes", "http_status", "status_code")
FORBIDDEN_IMPORTS = ("fastapi", "starlette", "http", "typer", "click", "ledger.exit_codes")


def sources() -> list[Path]:
    return sorted(p for package in PURE for p in (ROOT / package).rglob("*.py"))


def _imported(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names]
    return names


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_exit_code_or_http_status(path: Path) -> None:
    text = path.read_text()
    # The text, not only the code: a docstring that promises an exit code is the old mechanism.
    assert [n for n in FORBIDDEN_NAMES if n in text] == []
    framework = [
        name
        for name in _imported(ast.parse(text))
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN_IMPORTS)
    ]
    assert framework == []


def test_the_pure_layers_are_there() -> None:
    # A rename would otherwise leave the check above checking nothing.
    assert len(sources()) > 20
