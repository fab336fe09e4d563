"""The migration files as rewritten (001 defines ledger_append_only, 001-004 call it) build the
very schema the files before that change built, freshly and on top of a schema they migrated."""

from __future__ import annotations

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


def files_before(names: list[str]) -> list[tuple[int, str]]:
    """The migration files as they were at BEFORE, read from git."""
    texts = []
    for name in names:
        shown = subprocess.run(
            ["git", "show", f"{BEFORE}:ledger/store/migrations/{name}"],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        if shown.returncode != 0:
            pytest.skip(f"git cannot show the migrations of {BEFORE}: {shown.stderr.strip()}")
        texts.append((int(name[:3]), shown.stdout))
    return texts


def test_the_rewritten_migrations_build_the_schema_the_old_ones_did(ledger_settings) -> None:
    admin = ledger_settings.database_url
    names = [name for _, name, _ in migration_files()]
    old = files_before(names)
    tag = uuid.uuid4().hex[:8]
    fresh, before, upgraded = (f"t_mighist_{kind}_{tag}" for kind in ("new", "old", "mixed"))
    try:
        migrate(admin, fresh)
        migrate_with(admin, before, old)
        migrate_with(admin, upgraded, [(v, text) for v, text in old if v <= 5])
        assert [n[:3] for n in migrate(admin, upgraded)] == [n[:3] for n in names if n > "006"]
        expected = catalog(admin, before)
        assert expected["triggers"]  # the comparison sees the append-only guard at all
        assert ("schema_migrations_no_change", "schema_migrations", "reject_change") in {
            row[:3] for row in expected["triggers"]
        }
        assert catalog(admin, fresh) == expected
        assert catalog(admin, upgraded) == expected
    finally:
        for schema in (fresh, before, upgraded):
            drop_schema(admin, schema)
