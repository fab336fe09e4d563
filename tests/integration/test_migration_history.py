"""The migration files as they are now (000 defines the append-only functions, 001-009 call
them) build the very schema older files built: freshly, and on top of a schema older files
migrated part or all of the way (000 then comes late, and replaces what 001/006 defined)."""

from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from ledger.store.connection import connection
from ledger.store.migrate import drop_schema, migrate, migration_files
from tests.integration.helpers import migrate_with

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
BEFORE = "1a62b16"  # main before 001 defined ledger_append_only (it came in 006 then)
BEFORE_000 = "496dfc7"  # main before 000: 001 defined both functions, 006 replaced one
FOLDER = "ledger/store/migrations"

# What a schema is made of, each row with the schema's own name replaced by '<schema>'.
CATALOG = {
    "relations": "SELECT c.relname, c.relkind::text FROM pg_class c"
    " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %(s)s",
    "columns": "SELECT table_name::text, column_name::text, ordinal_position, data_type::text,"
    " is_nullable::text, coalesce(column_default, '') FROM information_schema.columns"
    " WHERE table_schema = %(s)s",
    "views": "SELECT viewname::text, definition FROM pg_views WHERE schemaname = %(s)s",
    "functions": "SELECT p.proname::text, pg_get_function_identity_arguments(p.oid),"
    " pg_get_function_result(p.oid), p.prosrc FROM pg_proc p"
    " JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %(s)s",
    "triggers": "SELECT t.tgname::text, c.relname::text, f.proname::text, t.tgtype, t.tgenabled::text"
    " FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
    " JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_proc f ON f.oid = t.tgfoid"
    " WHERE n.nspname = %(s)s AND NOT t.tgisinternal",
    "constraints": "SELECT c.conname::text, r.relname::text, pg_get_constraintdef(c.oid)"
    " FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid"
    " JOIN pg_namespace n ON n.oid = r.relnamespace WHERE n.nspname = %(s)s",
    "indexes": "SELECT indexname::text, tablename::text, indexdef FROM pg_indexes"
    " WHERE schemaname = %(s)s",
}


def catalog(admin: str, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    with connection(admin, schema) as conn:
        return {
            part: sorted(
                tuple(v.replace(schema, "<schema>") if isinstance(v, str) else v for v in row)
                for row in conn.execute(query, {"s": schema})
            )
            for part, query in CATALOG.items()
        }


def git(*args: str) -> str:
    shown = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
    if shown.returncode != 0:
        pytest.skip(f"git cannot show the old migrations: {shown.stderr.strip()}")
    return shown.stdout


def files_at(commit: str, upto: int = 999) -> list[tuple[int, str]]:
    """The migration files up to version ``upto`` as they were at ``commit``, read from git."""
    names = sorted(
        name
        for name in git("ls-tree", "--name-only", f"{commit}:{FOLDER}").split()
        if re.fullmatch(r"\d{3}_[a-z0-9_]+\.sql", name) and int(name[:3]) <= upto
    )
    return [(int(name[:3]), git("show", f"{commit}:{FOLDER}/{name}")) for name in names]


# (commit, last version migrated under that commit's files) -> the versions the files of now
# still apply: 000 always, since no earlier commit had it.
UPGRADES = [
    ((BEFORE, 5), ["000", "006", "007", "008", "009"]),
    ((BEFORE, 9), ["000"]),
    ((BEFORE_000, 9), ["000"]),
]


# Files newer than every commit above: each upgrade applies them too.
LATER = [name[:3] for _, name, _ in migration_files() if int(name[:3]) > 9]


def test_the_migrations_of_now_build_the_schema_the_old_ones_did(ledger_settings) -> None:
    admin = ledger_settings.database_url
    assert [name[:3] for _, name, _ in migration_files()][:2] == ["000", "001"]
    tag = uuid.uuid4().hex[:8]
    before, fresh = f"t_mighist_old_{tag}", f"t_mighist_new_{tag}"
    upgraded = [f"t_mighist_{commit}_{upto}_{tag}" for (commit, upto), _ in UPGRADES]
    try:
        migrate_with(admin, before, files_at(BEFORE))
        migrate(admin, before)  # and the files written since (010 on), as an upgrade applies them
        expected = catalog(admin, before)
        assert expected["triggers"]  # the comparison sees the append-only guard at all
        assert ("schema_migrations_no_change", "schema_migrations", "reject_change") in {
            row[:3] for row in expected["triggers"]
        }
        migrate(admin, fresh)
        assert catalog(admin, fresh) == expected
        for schema, ((commit, upto), pending) in zip(upgraded, UPGRADES, strict=True):
            migrate_with(admin, schema, files_at(commit, upto))
            applied = [name[:3] for name in migrate(admin, schema)]
            assert applied == pending + LATER, (commit, upto)
            assert catalog(admin, schema) == expected, (commit, upto)
    finally:
        for schema in (before, fresh, *upgraded):
            drop_schema(admin, schema)
