"""Every schema version in schemas/ is BACKWARD compatible with every earlier one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ledger.compat import check_registry
from ledger.schema_registry import SchemaRegistry, default_registry, schemas_dir


def test_published_schemas_are_backward_compatible() -> None:
    assert check_registry(default_registry()) == []


def test_the_check_catches_a_field_added_without_default(tmp_path: Path) -> None:
    root = tmp_path / "schemas"
    shutil.copytree(schemas_dir(), root)
    v1 = json.loads((root / "NoticeFiled" / "v1.avsc").read_text())
    v1["fields"].append({"name": "judge", "type": "string"})
    (root / "NoticeFiled" / "v2.avsc").write_text(json.dumps(v1))
    problems = check_registry(SchemaRegistry.from_directory(root))
    assert any("adds field 'judge' without a default" in p for p in problems)


def test_the_check_accepts_a_field_added_with_default(tmp_path: Path) -> None:
    root = tmp_path / "schemas"
    shutil.copytree(schemas_dir(), root)
    v1 = json.loads((root / "NoticeFiled" / "v1.avsc").read_text())
    v1["fields"].append({"name": "judge", "type": ["null", "string"], "default": None})
    (root / "NoticeFiled" / "v2.avsc").write_text(json.dumps(v1))
    registry = SchemaRegistry.from_directory(root)
    assert check_registry(registry) == []
    assert registry.latest("NoticeFiled").version == 2
