"""`ledger up`, `down`, `status` and `migrate`: the local services and the database schema."""

from __future__ import annotations

from ledger import localdev
from ledger.cli.common import JsonFlag, settings
from ledger.cli.output import console, print_json, print_table


def up(json_out: JsonFlag = False) -> None:
    """Start local Kafka and PostgreSQL (unless LEDGER_KAFKA_BOOTSTRAP/LEDGER_DATABASE_URL are set)."""
    from ledger.runtime import open_ledger

    s = settings()
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
    from ledger.runtime import open_ledger
    from ledger.store.migrate import migrate as apply

    s = settings()
    ledger = open_ledger(s, prepare=False)
    applied = apply(ledger.admin_url, ledger.schema)
    open_ledger(s)  # topics, and grants on any table the migrations added
    if json_out:
        print_json({"applied": applied})
    else:
        console.print(f"Applied {', '.join(applied)}." if applied else "Nothing to apply.")
