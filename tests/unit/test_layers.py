"""The package map holds: no module imports from a layer above its own (README, "Package map").

The top-level ``consumers`` package is one layer of the map: it builds on the library's floors
(events, rules, store, kafka, runtime) and only the entry points above it (ops, api, demo, cli)
import it, so imports run one way across the two packages (docs/design.md, "Layout")."""

from __future__ import annotations

import ast
from pathlib import Path

import consumers
import ledger

ROOT = Path(ledger.__file__).resolve().parent
CONSUMERS = Path(consumers.__file__).resolve().parent
OURS = ("ledger", "consumers")

# Lowest first. A module may import its own layer and any layer below, never one above.
LAYERS: list[set[str]] = [
    {"errors", "exit_codes", "storable", "config", "safe_files"},
    {
        "tlog",
        "rules",
        "schema_registry",
        "codec",
        "compat",
        "events",
        "privacy",
        "keys",
        "local_secrets",
        "webhooks",
        "webhook_config",
    },
    {"intake", "intake_values", "alert_events"},
    {"store", "kafka"},
    {"localdev", "runtime", "access_log", "witness"},
    {"consumers"},
    {"ops"},
    {"web", "api"},
    {"demo"},
    {"cli", "__main__"},
]


def layer_of(module: str) -> int:
    if module.split(".")[0] == "consumers":
        return layer_of("ledger.consumers")
    top = module.split(".")[1] if module.count(".") else ""
    for index, names in enumerate(LAYERS):
        if top in names:
            return index
    raise AssertionError(f"{module} is in no layer of the map: add it to LAYERS and the README")


def imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(OURS):
            if node.module in OURS:
                found += [f"{node.module}.{a.name}" for a in node.names]
            else:
                found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith(OURS)]
    return found


def modules() -> list[tuple[str, Path]]:
    out = []
    for root in (ROOT, CONSUMERS):
        for path in sorted(root.rglob("*.py")):
            rel = path.relative_to(root.parent).with_suffix("")
            name = ".".join(rel.parts).removesuffix(".__init__")
            if name not in OURS:
                out.append((name, path))
    return out


def test_no_module_imports_from_a_higher_layer() -> None:
    upward = []
    for name, path in modules():
        mine = layer_of(name)
        for target in imports(path):
            if target in OURS:
                continue
            if layer_of(target) > mine:
                upward.append(f"{name} (layer {mine}) imports {target} (layer {layer_of(target)})")
    assert upward == []


def test_only_the_store_imports_psycopg() -> None:
    outside = [
        name
        for name, path in modules()
        if not name.startswith("ledger.store")
        and any(
            (isinstance(n, ast.Import) and any(a.name.startswith("psycopg") for a in n.names))
            or (isinstance(n, ast.ImportFrom) and (n.module or "").startswith("psycopg"))
            for n in ast.walk(ast.parse(path.read_text()))
        )
    ]
    assert outside == []


def test_no_module_over_400_lines() -> None:
    long = [
        f"{name}: {n}"
        for name, path in modules()
        if (n := len(path.read_text().splitlines())) > 400
    ]
    assert long == []
