"""`ledger serve` (the HTTP API and dashboard) and `ledger token create | list | revoke`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ledger.cli.common import JsonFlag, record_access, settings
from ledger.cli.output import console, err_console, print_json, print_table

if TYPE_CHECKING:
    from ledger.runtime import Ledger

token_app = typer.Typer(help="API tokens.", no_args_is_help=True)

TOKEN_COLUMNS = [
    "token_id",
    "name",
    "role",
    "status",
    "created_at",
    "expires_at",
    "revoked_at",
    "revoked_by",
]


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
) -> None:
    """Serve the read-only HTTP API and dashboard (OpenAPI at /openapi.json).

    Holds only the reader role's database credentials: run `ledger migrate` (or `ledger up`)
    first, and create tokens with `ledger token create`.
    """
    from ledger.api.serving import serve as run
    from ledger.runtime import open_reader

    run(open_reader(settings()), host, port)


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="auditor, overseer or public.")],
    name: Annotated[str, typer.Option(help="Who or what uses the token.")],
    expires_in: Annotated[
        str | None, typer.Option("--expires-in", help="Lifetime, e.g. 30d, 12h, 90m, 2w.")
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option(help="Last day of use is the day before YYYY-MM-DD (LEDGER_TIMEZONE)."),
    ] = None,
) -> None:
    """Create an API token; it is printed once and stored only as its SHA-256."""
    from ledger.runtime import open_ledger
    from ledger.store.connection import connection
    from ledger.store.tokens import issue_token, parse_expiry

    s = settings()
    expires_at = parse_expiry(expires_in, expires, s.timezone)
    ledger = open_ledger(s)
    with connection(ledger.admin_url, ledger.schema) as conn:  # only the admin role adds tokens
        token, info = issue_token(conn, role, name, expires_at)
    print(token)
    until = f", expires {expires_at.astimezone(s.timezone):%Y-%m-%d %H:%M %Z}" if expires_at else ""
    err_console.print(f"[dim]token {info.token_id} ({role}){until}[/]", highlight=False)
    _record_admin_act(ledger, "token.create", info.as_dict())


def _record_admin_act(ledger: Ledger, action: str, token: dict[str, object]) -> None:
    """Token administration is recorded in the verifiable log like any access (never the token)."""
    fields = ("token_id", "name", "role", "expires_at")
    record_access(ledger, "admin", action, {k: token.get(k) for k in fields}, 1, timeout=10)


@token_app.command("list")
def token_list(json_out: JsonFlag = False) -> None:
    """Every token ever issued, with its role, expiry and status (never the token itself)."""
    from ledger.runtime import open_ledger
    from ledger.store.connection import connection
    from ledger.store.tokens import list_tokens

    ledger = open_ledger(settings(), prepare=False)
    with connection(ledger.reader_url, ledger.schema) as conn:
        tokens = [t.as_dict() for t in list_tokens(conn)]
    if json_out:
        print_json(tokens)
        return
    rows = [[t[c] for c in TOKEN_COLUMNS] for t in tokens]
    print_table(f"API tokens ({len(tokens)})", TOKEN_COLUMNS, rows)


@token_app.command("revoke")
def token_revoke(
    name_or_id: Annotated[str, typer.Argument(metavar="NAME_OR_ID", help="Token name or id.")],
) -> None:
    """Revoke a token (by id, or by name when one unrevoked token has it); recorded in the log."""
    import getpass

    from ledger.access_log import AccessLogUnavailableError
    from ledger.runtime import open_ledger
    from ledger.store.connection import connection
    from ledger.store.tokens import revoke_token

    ledger = open_ledger(settings())
    with connection(ledger.admin_url, ledger.schema) as conn:
        info, newly = revoke_token(conn, name_or_id, getpass.getuser())
    what = f"token {info.token_id} ({info.name}, {info.role})"
    console.print(
        f"Revoked {what}." if newly else f"{what} was already revoked.",
        highlight=False,
        soft_wrap=True,
    )
    try:
        _record_admin_act(ledger, "token.revoke", info.as_dict())
    except AccessLogUnavailableError as exc:
        raise AccessLogUnavailableError(
            f"The token is revoked, but the revocation could not be recorded in the log: {exc} "
            "Run the same command again once Kafka is back."
        ) from exc
