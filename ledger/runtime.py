"""Wires settings to running services: endpoints, topics, schema migrations and roles."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass

from psycopg.conninfo import make_conninfo

from ledger import services
from ledger.config import Settings, Topics
from ledger.errors import ConfigError, ServiceError
from ledger.store.migrate import migrate
from ledger.store.roles import READER, ensure_roles
from ledger.topics import ensure_topics


@dataclass(frozen=True)
class Ledger:
    """Everything a command needs to talk to one ledger."""

    settings: Settings
    bootstrap: str
    admin_url: str
    writer_url: str
    reader_url: str

    @property
    def schema(self) -> str:
        return self.settings.db_schema

    @property
    def topics(self) -> Topics:
        return self.settings.topics

    def reader_only(self) -> Ledger:
        """The same ledger without the administrative and writer credentials (for `ledger serve`)."""
        return dataclasses.replace(self, admin_url="", writer_url="")


def endpoints(settings: Settings) -> services.Endpoints:
    """The configured endpoints, or the local services' if they are running."""
    if settings.kafka_bootstrap and settings.database_url:
        return services.Endpoints(settings.kafka_bootstrap, settings.database_url)
    state = services.status(settings)
    bootstrap = settings.kafka_bootstrap or (
        state.get("kafka_bootstrap") if state.get("kafka_running") else None
    )
    database = settings.database_url or (
        state.get("database_url") if state.get("postgres_running") else None
    )
    if not bootstrap or not database:
        raise ServiceError(
            "No Kafka broker or PostgreSQL server to talk to. Run `ledger up` to start local ones, "
            "or set LEDGER_KAFKA_BOOTSTRAP and LEDGER_DATABASE_URL."
        )
    return services.Endpoints(bootstrap, database)


def open_ledger(settings: Settings, *, prepare: bool = True) -> Ledger:
    """Resolves endpoints and (by default) makes sure topics, tables and roles exist."""
    ep = endpoints(settings)
    secrets_file = settings.data_dir / "db-roles.json"
    if prepare:
        ensure_topics(ep.kafka_bootstrap, settings.topics, settings.partitions)
        migrate(ep.database_url, settings.db_schema)
    roles = ensure_roles(ep.database_url, settings.db_schema, secrets_file)
    return Ledger(settings, ep.kafka_bootstrap, ep.database_url, roles.writer, roles.reader)


def open_reader(settings: Settings) -> Ledger:
    """A ledger holding only the reader role's credentials; migrates and creates nothing.

    LEDGER_READER_DATABASE_URL when set; otherwise the reader login that `ledger up` (or any
    command run with the administrative URL) created, on the configured or local server.
    """
    reader = os.environ.get("LEDGER_READER_DATABASE_URL")
    if reader and settings.kafka_bootstrap:
        return Ledger(settings, settings.kafka_bootstrap, "", "", reader)
    ep = endpoints(settings)
    if not reader:
        secrets_file = settings.data_dir / "db-roles.json"
        try:
            password = json.loads(secrets_file.read_text())[READER]
        except (OSError, ValueError, KeyError):
            raise ConfigError(
                f"No reader credentials: set LEDGER_READER_DATABASE_URL, or run `ledger migrate` "
                f"(or `ledger up`) once so that the reader role exists ({secrets_file})."
            ) from None
        # Only the location is taken from the administrative URL; its user and password are not.
        reader = make_conninfo(ep.database_url, user=READER, password=password)
    return Ledger(settings, ep.kafka_bootstrap, "", "", reader)
