"""What every command group shares: settings, the --json flag, dates, and the access record."""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from ledger.cli.output import fail
from ledger.config import Settings
from ledger.exit_codes import ExitCode

if TYPE_CHECKING:
    from ledger.runtime import Ledger

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


def settings() -> Settings:
    return Settings.from_env()


def parse_day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{name} {value!r} is not a date (YYYY-MM-DD).", ExitCode.USAGE)


def record_access(
    ledger: Ledger,
    role: str,
    action: str,
    params: Mapping[str, object],
    returned: int,
    *,
    timeout: float | None = None,
) -> None:
    """Records one CLI query or token act as a LedgerAccessed event (oversight of the overseers).

    Returns once Kafka acknowledged it, else raises AccessLogUnavailableError; ``timeout``
    overrides the access log's own wait for that acknowledgement. Never pass a TIN or a token.
    """
    from ledger.access_log import AccessLog

    options = {} if timeout is None else {"timeout": timeout}
    log = AccessLog(
        ledger.bootstrap, ledger.topics.disclosures, recorded_by="ledger-cli", **options
    )
    try:
        log.send(log.event(getpass.getuser(), role, action, params, returned))
    finally:
        log.close()


VerifierKeys = Annotated[
    list[str], typer.Option("--key", help="Verifier key (vkey); repeat for rotation.")
]
WitnessKeys = Annotated[
    list[str] | None,
    typer.Option("--witness-key", help="A witness's cosignature vkey; repeat for each."),
]
MinWitnesses = Annotated[
    int | None,
    typer.Option(
        "--min-witnesses",
        min=0,
        help="Valid cosignatures required from the given witnesses (default: 1 with keys).",
    ),
]


def witness_minimum(witnesses: list[str], min_witnesses: int | None) -> int:
    """How many of ``witnesses`` must have cosigned: --min-witnesses, else 1 when any are given.
    More than the distinct keys given is a usage error."""
    minimum = min_witnesses if min_witnesses is not None else (1 if witnesses else 0)
    if minimum > len(set(witnesses)):
        fail(
            f"--min-witnesses {minimum} needs at least that many --witness-key options "
            f"({len(set(witnesses))} given).",
            ExitCode.USAGE,
        )
    return minimum
