"""`ledger demo`: the whole story on local services (ledger.demo.run tells it)."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.cli.common import settings


def demo(
    serve: Annotated[bool, typer.Option(help="Keep serving the dashboard until Ctrl-C.")] = True,
) -> None:
    """Start everything, emit a realistic year and the spike day, show the alert, verify."""
    from ledger.demo.run import run_demo

    run_demo(settings(), serve=serve)
