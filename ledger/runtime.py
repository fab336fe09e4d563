"""Wires settings to running services: endpoints, topics, schema migrations and roles."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from ledger import localdev
from ledger.config import Settings, Topics
from ledger.errors import ServiceError
from ledger.kafka.topics import ensure_topics
from ledger.store.migrate import migrate
from ledger.store.roles import ensure_roles, local_reader_url


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

    def environment(self) -> dict[str, str]:
        """The LEDGER_* variables that point a child `ledger` process at this very ledger."""
        s = self.settings
        return {
            "LEDGER_KAFKA_BOOTSTRAP": self.bootstrap,
            "LEDGER_DATABASE_URL": self.admin_url,
            "LEDGER_TOPIC_PREFIX": s.topics.prefix,
            "LEDGER_DB_SCHEMA": s.db_schema,
            "LEDGER_DATA_DIR": str(s.data_dir),
            "LEDGER_PARTITIONS": str(s.partitions),
        }

    def reader_only(self) -> Ledger:
        """The same ledger without the administrative and writer credentials (for `ledger serve`)."""
        return dataclasses.replace(self, admin_url="", writer_url="")


def endpoints(settings: Settings) -> localdev.Endpoints:
    """The configured endpoints, or the local services' if they are running."""
    if settings.kafka_bootstrap and settings.database_url:
        return localdev.Endpoints(settings.kafka_bootstrap, settings.database_url)
    state = localdev.status(settings)
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
    return localdev.Endpoints(bootstrap, database)


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
        reader = local_reader_url(
            ep.database_url, settings.db_schema, settings.data_dir / "db-roles.json"
        )
    return Ledger(settings, ep.kafka_bootstrap, "", "", reader)
