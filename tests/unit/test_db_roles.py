"""Each schema has its own writer and reader roles, so two ledgers on one server never re-key
each other's logins (roles are cluster-wide; their passwords live in each data directory)."""

from __future__ import annotations

import json
import string
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ledger.store.roles import READER, WRITER, _role_passwords, role_names


def test_the_default_schema_keeps_the_plain_role_names() -> None:
    assert role_names("ledger") == (WRITER, READER)


def test_other_schemas_have_roles_of_their_own() -> None:
    assert role_names("t_cluster_node1") == (
        "ledger_t_cluster_node1_writer",
        "ledger_t_cluster_node1_reader",
    )
    assert set(role_names("a")).isdisjoint(role_names("b"))


@given(st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=63))
def test_role_names_fit_postgres_identifiers_and_stay_distinct(schema: str) -> None:
    writer, reader = role_names(schema)
    assert writer != reader
    assert len(writer.encode()) <= 63
    assert len(reader.encode()) <= 63


def test_long_schemas_sharing_a_prefix_get_different_roles() -> None:
    a, b = "s" * 60 + "a", "s" * 60 + "b"
    assert role_names(a)[0] != role_names(b)[0]


def test_passwords_are_kept_per_role_in_one_file(tmp_path: Path) -> None:
    secrets_file = tmp_path / "db-roles.json"
    first = _role_passwords(secrets_file, role_names("one"))
    second = _role_passwords(secrets_file, role_names("two"))
    assert _role_passwords(secrets_file, role_names("one")) == first
    stored = json.loads(secrets_file.read_text())
    assert stored == {**first, **second}
    assert oct(secrets_file.stat().st_mode & 0o777) == "0o600"
