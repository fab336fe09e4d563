"""Applies the versioned SQL files in migrations/ to a schema, once each, in order."""

from __future__ import annotations

import re
from importlib import resources

import psycopg
from psycopg import sql

from ledger.store.connection import Connection, check_schema_name, connection

_MIGRATION = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
# Any constant works; it only has to be the same for every process migrating this cluster.
_MIGRATION_LOCK = 0x1ED6E4


def migration_files() -> list[tuple[int, str, str]]:
    found = []
    for item in resources.files("ledger.store.migrations").iterdir():
        m = _MIGRATION.match(item.name)
        if m:
            found.append((int(m.group(1)), item.name, item.read_text(encoding="utf-8")))
    return sorted(found)


def migrate(admin_url: str, schema: str) -> list[str]:
    """Creates ``schema`` if needed and applies pending migrations; returns the files applied."""
    check_schema_name(schema)
    applied: list[str] = []
    with connection(admin_url, schema) as conn:
        # Serialise concurrent migrators (tests, several `ledger consume` processes).
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        for version, name, text in migration_files():
            if version in done:
                continue
            conn.execute(text.encode("utf-8"))
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name)
            )
            applied.append(name)
        conn.commit()
    return applied


def schema_exists(admin_url: str, schema: str) -> bool:
    with psycopg.connect(admin_url) as conn:
        row = conn.execute(
            "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (schema,)
        ).fetchone()
    return row is not None


def drop_schema(admin_url: str, schema: str) -> None:
    """Drops a scratch schema (replay targets only; the live schema is never dropped by us)."""
    check_schema_name(schema)
    with psycopg.connect(admin_url) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def applied_version(conn: Connection) -> int:
    """The newest migration applied to the connection's schema (0 for a schema never migrated)."""
    found = conn.execute("SELECT to_regclass('schema_migrations')").fetchone()
    if found is None or found[0] is None:
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return int(row[0]) if row else 0
