"""Every benchmark module imports: a moved module must not silently break `python -m bench.X`."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
MODULES = sorted(
    ".".join(p.relative_to(BENCH.parent).with_suffix("").parts)
    for p in BENCH.rglob("*.py")
    if p.name != "__init__.py"
)


@pytest.mark.parametrize("module", MODULES)
def test_bench_module_imports(module: str) -> None:
    importlib.import_module(module)
