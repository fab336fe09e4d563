"""`ledger up`, `down`, `status` and `migrate`: the local services and the database schema."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from ledger import localdev
from ledger.cli.common import JsonFlag, settings
from ledger.cli.output import console, fail, print_json, print_table
from ledger.exit_codes import ExitCode


def up(
    json_out: JsonFlag = False,
    brokers: Annotated[
        int | None,
        typer.Option(
            "--brokers",
            help="Local Kafka nodes, 1, 3 or 5 (default LEDGER_BROKERS or 1); with 3 or more, "
            "topics are replicated 3 times with min.insync.replicas 2.",
        ),
    ] = None,
) -> None:
    """Start local Kafka and PostgreSQL (unless LEDGER_KAFKA_BOOTSTRAP/LEDGER_DATABASE_URL are set)."""
    from ledger.runtime import open_ledger

    s = settings()
    if brokers is not None:
        if brokers not in (1, 3, 5):
            fail(
                "--brokers must be 1, 3 or 5 (a KRaft quorum needs an odd number).", ExitCode.USAGE
            )
        s = dataclasses.replace(s, brokers=brokers)
    with console.status("Starting local Kafka and PostgreSQL..."):
        ep = localdev.up(s)
        open_ledger(s)
    if json_out:
        print_json({"kafka_bootstrap": ep.kafka_bootstrap, "database_url": ep.database_url})
    else:
        console.print(
            f"Kafka      {ep.kafka_bootstrap}\nPostgreSQL {ep.database_url}", soft_wrap=True
        )


def down() -> None:
    """Stop the local services this project started (nothing else is touched)."""
    localdev.down(settings())
    console.print("Local services stopped.")


def status(json_out: JsonFlag = False) -> None:
    """Show the Kafka bootstrap address and database URL in use."""
    state = localdev.status(settings())
    if json_out:
        print_json(state)
    else:
        print_table("Ledger services", ["setting", "value"], sorted(state.items()))


def migrate(json_out: JsonFlag = False) -> None:
    """Create topics, apply pending database migrations and (re)grant the ledger's roles."""
    from ledger.runtime import endpoints, open_ledger
    from ledger.store.migrate import migrate as apply

    s = settings()
    # Migrations first: the roles' grants need the schema, which a fresh LEDGER_DB_SCHEMA lacks.
    applied = apply(endpoints(s).database_url, s.db_schema)
    open_ledger(s)  # topics, and grants on any table the migrations added
    if json_out:
        print_json({"applied": applied})
    else:
        console.print(f"Applied {', '.join(applied)}." if applied else "Nothing to apply.")
