"""The `ledger` command line: local services, emit, consume, query, verify, replay, demo."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import click
import typer

from ledger import services
from ledger.cli_output import console, fail, print_json, print_table
from ledger.config import Settings
from ledger.errors import LedgerError

app = typer.Typer(
    help="The Disclosure Ledger: a tamper-evident record of taxpayer-data disclosures.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


def settings() -> Settings:
    return Settings.from_env()


@app.command()
def up(json_out: JsonFlag = False) -> None:
    """Start local Kafka and PostgreSQL (unless LEDGER_KAFKA_BOOTSTRAP/LEDGER_DATABASE_URL are set)."""
    from ledger.runtime import open_ledger

    s = settings()
    with console.status("Starting local Kafka and PostgreSQL..."):
        ep = services.up(s)
        open_ledger(s)
    if json_out:
        print_json({"kafka_bootstrap": ep.kafka_bootstrap, "database_url": ep.database_url})
    else:
        console.print(f"Kafka      {ep.kafka_bootstrap}\nPostgreSQL {ep.database_url}")


@app.command()
def down() -> None:
    """Stop the local services this project started (nothing else is touched)."""
    services.down(settings())
    console.print("Local services stopped.")


@app.command()
def status(json_out: JsonFlag = False) -> None:
    """Show the Kafka bootstrap address and database URL in use."""
    state = services.status(settings())
    if json_out:
        print_json(state)
    else:
        print_table("Ledger services", ["setting", "value"], sorted(state.items()))


@app.command()
def emit(
    file: Annotated[str, typer.Option("--file", "-f", help="JSON lines file, or - for stdin.")],
    json_out: JsonFlag = False,
) -> None:
    """Validate every line of a JSON-lines file, then send them all (or none) to Kafka."""
    from ledger.intake import parse_lines
    from ledger.producer import EventProducer
    from ledger.runtime import open_ledger

    if file == "-":
        lines = sys.stdin.read().splitlines()
    else:
        path = Path(file)
        if not path.is_file():
            fail(f"{file}: no such file.", 2)
        lines = path.read_text(encoding="utf-8").splitlines()
    events = parse_lines(lines)  # validate all before anything is sent
    ledger = open_ledger(settings())
    with EventProducer(ledger.bootstrap, ledger.topics.disclosures) as producer:
        sent = producer.send(events)
    if json_out:
        print_json([s.__dict__ for s in sent])
    else:
        console.print(f"Sent {len(sent)} event(s) to {ledger.topics.disclosures}.")


def main() -> None:
    """Entry point: LedgerErrors and usage errors become one line and a meaningful exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    command = typer.main.get_command(app)
    try:
        command.main(standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError:
        raise SystemExit(0) from None
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except click.UsageError as exc:
        fail(exc.format_message().splitlines()[0], 2)
    except click.Abort:
        fail("aborted.", 130)
    except LedgerError as exc:
        fail(exc.diagnostics(), exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted.", 130)
