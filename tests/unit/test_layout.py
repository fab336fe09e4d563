"""The top level is the one the design names, and one word, "consumer", says what reads the log.

docs/design.md, "Layout": ``ledger/`` (the library and its entry points), ``consumers/`` (one module
per consumer), ``schemas/`` (the versioned Avro contract), ``tests/``, ``bench/``,
``docker-compose.yml``, ``pyproject.toml``.
"""

from __future__ import annotations

import re
from pathlib import Path

from ledger.schema_registry import schemas_dir

REPO = Path(__file__).resolve().parents[2]
TEXT = {".py", ".md", ".toml", ".sql", ".sh", ".yml", ".html", ".js", ".css"}
OLD_WORD = "follow" + "er"  # spelled apart so this file does not hold it


def test_the_top_level_is_the_designed_one() -> None:
    for name in ("ledger", "consumers", "schemas", "tests", "bench", "docs"):
        assert (REPO / name).is_dir(), name
    for name in ("docker-compose.yml", "pyproject.toml", "README.md"):
        assert (REPO / name).is_file(), name
    assert not (REPO / "ledger" / "schemas").exists(), "the contract lives in schemas/ only"


def test_schemas_hold_only_versioned_avro_and_the_registry_reads_them() -> None:
    files = [p for p in (REPO / "schemas").rglob("*") if p.is_file()]
    assert files
    odd = [
        str(p.relative_to(REPO))
        for p in files
        if not re.fullmatch(
            r"[A-Z][A-Za-z]+/v[1-9][0-9]*\.avsc", str(p.relative_to(REPO / "schemas"))
        )
    ]
    assert odd == []
    assert schemas_dir().resolve() == (REPO / "schemas").resolve()


def test_one_word_for_what_reads_the_log() -> None:
    roots = [REPO / d for d in ("ledger", "consumers", "bench", "tests", "docs", "scripts")]
    paths = [p for root in roots for p in root.rglob("*") if p.suffix in TEXT and p.is_file()]
    paths += [REPO / "README.md", REPO / "pyproject.toml", REPO / "docker-compose.yml"]
    using = [
        str(p.relative_to(REPO))
        for p in paths
        if "__pycache__" not in p.parts and OLD_WORD in p.read_text(errors="replace").lower()
    ]
    assert using == []
