"""The `ledger` command line: local services, emit, consume, query, verify, replay, demo.

One module per command group (services, events, queries, evidence, api, demo); this module
assembles them into one typer app and holds ``main``, which turns every error into one line on
stderr and a documented exit code (ledger.exit_codes.ExitCode; which error gets which is
ledger/cli/exit_codes.py).
"""

from __future__ import annotations

import logging
import os

import typer
import typer._click.exceptions as cli_errors  # typer vendors click; its errors live here

from ledger.cli import accounting as accounting_cli
from ledger.cli import api, bundle, demo, events, evidence, queries, reports, services, witness
from ledger.cli import index as index_cli
from ledger.cli.exit_codes import exit_code_of
from ledger.cli.output import fail
from ledger.errors import LedgerError
from ledger.exit_codes import ExitCode

app = typer.Typer(
    help="The Disclosure Ledger: a tamper-evident record of taxpayer-data disclosures.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# In the order `ledger --help` lists them (commands first, then the groups with subcommands).
for command in (
    services.up,
    services.down,
    services.status,
    events.emit,
    events.consume,
    queries.query,
    evidence.verify,
    evidence.replay,
    demo.demo,
    evidence.keygen,
    evidence.checkpoint,
    evidence.verify_proof,  # `verify-proof`
    bundle.export,
    bundle.verify_bundle,  # `verify-bundle`
    services.migrate,
    api.serve,
    accounting_cli.accounting,
    index_cli.verify_accounting,  # `verify-accounting`
):
    app.command()(command)
app.add_typer(evidence.key_app, name="key")
app.add_typer(evidence.proof_app, name="proof")
app.add_typer(queries.alerts_app, name="alerts")
app.add_typer(api.token_app, name="token")
app.add_typer(reports.report_app, name="report")
app.add_typer(witness.witness_app, name="witness")
app.add_typer(index_cli.index_app, name="index")


def _unexpected(exc: Exception) -> str:
    first = (str(exc).strip().splitlines() or [""])[0]
    module = type(exc).__module__.split(".")[0]
    if module in ("psycopg", "psycopg_pool"):
        return f"PostgreSQL error: {first or type(exc).__name__}"
    if module == "kafka":
        return f"Kafka error: {first or type(exc).__name__}"
    return f"unexpected error: {type(exc).__name__}: {first}"


def _unexpected_exit_code(exc: Exception) -> int:
    """A service that cannot be reached is an outage (3, retry later), not a failed command."""
    from kafka.errors import KafkaConnectionError

    from ledger.store.connection import server_unreachable

    if isinstance(exc, KafkaConnectionError) or server_unreachable(exc):
        return ExitCode.SERVICE
    return exit_code_of(exc)


def main() -> None:
    """Entry point: LedgerErrors and usage errors become one line and a meaningful exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # kafka-python narrates routine coordinator moves (e.g. while the offsets topic is created).
    logging.getLogger("kafka").setLevel(logging.ERROR)
    command = typer.main.get_command(app)
    try:
        # standalone_mode=False makes click *return* the code of a typer.Exit instead of exiting
        # with it; every documented exit code (verify 10-15, replay 20, ...) must reach the shell.
        code = command.main(standalone_mode=False)
    except cli_errors.NoArgsIsHelpError:
        raise SystemExit(ExitCode.OK) from None
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        fail("aborted.", ExitCode.INTERRUPTED)
    except cli_errors.UsageError as exc:
        fail(exc.format_message().splitlines()[0], ExitCode.USAGE)
    except cli_errors.ClickException as exc:
        fail(exc.format_message().splitlines()[0], ExitCode.ERROR)
    except LedgerError as exc:
        fail(exc.diagnostics(), exit_code_of(exc))
    except KeyboardInterrupt:
        fail("interrupted.", ExitCode.INTERRUPTED)
    except Exception as exc:  # a driver error no call site translated: one line, not a traceback
        if os.environ.get("LEDGER_DEBUG"):
            raise
        fail(
            f"{_unexpected(exc)} (set LEDGER_DEBUG=1 to see the traceback)",
            _unexpected_exit_code(exc),
        )
    raise SystemExit(code if isinstance(code, int) else ExitCode.OK)
