"""What every command group shares: settings, the --json flag, dates, and the access record."""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from ledger.cli.output import fail
from ledger.config import Settings
from ledger.errors import ExitCode

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
        log.record(getpass.getuser(), role, action, params, returned)
    finally:
        log.close()
