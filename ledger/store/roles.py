"""Database roles: consumers write as a role that owns nothing; readers can only SELECT.

A superuser or a table owner can switch triggers off (session_replication_role, ALTER TABLE ...
DISABLE TRIGGER), so the append-only guarantee must not rest on the application connecting as
one. The writer may INSERT and SELECT, and UPDATE only the two mutable projections (offsets and
daily volume); the reader may only SELECT. Neither may add API tokens, revocations or migration
records: those are the administrative role's (migration 004 enforces it with triggers as well).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from ledger.errors import ConfigError
from ledger.local_secrets import write_private
from ledger.store.connection import check_schema_name

WRITER = "ledger_writer"
READER = "ledger_reader"
DEFAULT_SCHEMA = "ledger"
MUTABLE_TABLES = ("consumer_offsets", "daily_volume", "daily_volume_amended")
ADMIN_ONLY_TABLES = ("api_tokens", "api_token_revocations", "schema_migrations")


@dataclass(frozen=True)
class RoleUrls:
    writer: str
    reader: str


def role_names(schema: str) -> tuple[str, str]:
    """The writer and reader login roles of ``schema``: one pair per schema.

    Roles are cluster-wide and their passwords live in each data directory, so two ledgers
    (two schemas) on one server sharing a role would re-key it under each other. The default
    schema keeps the plain names; a name past PostgreSQL's 63 bytes ends in a digest instead.
    """
    if schema == DEFAULT_SCHEMA:
        return WRITER, READER
    names = []
    for role in ("writer", "reader"):
        name = f"ledger_{schema}_{role}"
        if len(name.encode()) > 63:
            digest = hashlib.sha256(schema.encode()).hexdigest()[:12]
            name = f"ledger_{schema[:36]}_{digest}_{role}"
        names.append(name)
    return names[0], names[1]


def _role_passwords(secrets_file: Path, roles: tuple[str, str]) -> dict[str, str]:
    """This data directory's passwords for ``roles``, made (and kept) the first time.

    One file holds every schema's roles; entries are added under a lock and the file is
    replaced whole, so two processes adding schemas at once both keep theirs.
    """
    if secrets_file.exists():
        known = dict(json.loads(secrets_file.read_text()))
        if all(role in known for role in roles):
            return {role: known[role] for role in roles}
    secrets_file.parent.mkdir(parents=True, exist_ok=True)
    with open(secrets_file.with_name(secrets_file.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        known = dict(json.loads(secrets_file.read_text())) if secrets_file.exists() else {}
        missing = [role for role in roles if role not in known]
        if missing:
            known.update({role: secrets.token_urlsafe(24) for role in missing})
            fresh = secrets_file.with_name(f".{secrets_file.name}.{os.getpid()}")
            fresh.unlink(missing_ok=True)
            write_private(fresh, json.dumps(known), "password file")
            os.replace(fresh, secrets_file)
    return {role: known[role] for role in roles}


def ensure_roles(admin_url: str, schema: str, secrets_file: Path) -> RoleUrls:
    """Creates (or re-keys) the writer and reader login roles and grants them ``schema``.

    In a deployment where roles are provisioned elsewhere, set LEDGER_WRITER_DATABASE_URL and
    LEDGER_READER_DATABASE_URL instead; this is for the ledger's own local cluster.
    """
    check_schema_name(schema)
    env_writer = os.environ.get("LEDGER_WRITER_DATABASE_URL")
    env_reader = os.environ.get("LEDGER_READER_DATABASE_URL")
    if env_writer and env_reader:
        return RoleUrls(env_writer, env_reader)
    writer, reader = role_names(schema)
    passwords = _role_passwords(secrets_file, (writer, reader))
    ident = sql.Identifier(schema)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(7761)")  # roles are cluster-wide; one at a time
        try:
            for role, password in passwords.items():
                exists = conn.execute(
                    "SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)
                ).fetchone()
                verb = "ALTER" if exists else "CREATE"
                conn.execute(
                    sql.SQL(
                        verb + " ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                        "NOBYPASSRLS PASSWORD {}"
                    ).format(sql.Identifier(role), sql.Literal(password))
                )
                conn.execute(
                    sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(ident, sql.Identifier(role))
                )
                conn.execute(
                    sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(
                        ident, sql.Identifier(role)
                    )
                )
            conn.execute(
                sql.SQL("GRANT INSERT ON ALL TABLES IN SCHEMA {} TO {}").format(
                    ident, sql.Identifier(writer)
                )
            )
            for table in ADMIN_ONLY_TABLES:
                found = conn.execute("SELECT to_regclass(%s)", (f"{schema}.{table}",)).fetchone()
                if found is None or found[0] is None:
                    continue  # not migrated yet; the grant above did not reach it either
                conn.execute(
                    sql.SQL("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {}.{} FROM {}").format(
                        ident, sql.Identifier(table), sql.Identifier(writer)
                    )
                )
            for table in MUTABLE_TABLES:
                conn.execute(
                    sql.SQL("GRANT UPDATE ON {}.{} TO {}").format(
                        ident, sql.Identifier(table), sql.Identifier(writer)
                    )
                )
        finally:
            conn.execute("SELECT pg_advisory_unlock(7761)")
    return RoleUrls(
        make_conninfo(admin_url, user=writer, password=passwords[writer]),
        make_conninfo(admin_url, user=reader, password=passwords[reader]),
    )


def local_reader_url(server_url: str, schema: str, secrets_file: Path) -> str:
    """The reader login created by `ledger migrate` / `ledger up`, at ``server_url``'s location.

    Only the location is taken from ``server_url``; its user and password are not.
    """
    _, reader = role_names(schema)
    try:
        password = json.loads(secrets_file.read_text())[reader]
    except (OSError, ValueError, KeyError):
        raise ConfigError(
            f"No reader credentials: set LEDGER_READER_DATABASE_URL, or run `ledger migrate` "
            f"(or `ledger up`) once so that the reader role exists ({secrets_file})."
        ) from None
    return make_conninfo(server_url, user=reader, password=password)
