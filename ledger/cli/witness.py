"""`ledger witness`: run a witness (C2SP tlog-witness) that cosigns the ledger's checkpoints.

A court or the plaintiffs run it on their own machine: it needs its key, the log's public key(s)
and a state file, never the ledger's database or Kafka.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ledger.cli.output import console, fail
from ledger.errors import VerificationError
from ledger.exit_codes import ExitCode

if TYPE_CHECKING:
    from ledger.tlog.cosignature import Cosigner

MAX_LOG_KEYS = 16  # each is tried on every request

witness_app = typer.Typer(
    help="Run a witness that cosigns the ledger's checkpoints (C2SP tlog-witness).",
    invoke_without_command=True,
)


def _listen(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        fail(f"--listen {value!r} is not HOST:PORT.", ExitCode.USAGE)
    return host, int(port)


def _load_cosigner(path: Path) -> Cosigner:
    from ledger.safe_files import read_text, why
    from ledger.tlog.cosignature import Cosigner

    try:
        text = read_text(path, what="witness key")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"Cannot read witness key {path}: {why(exc)}.", ExitCode.USAGE)
    lines = [ln.strip() for ln in text.splitlines() if ln.startswith("PRIVATE+")]
    if len(lines) != 1:
        fail(f"{path} must hold exactly one PRIVATE+KEY line.", ExitCode.USAGE)
    return Cosigner.from_key_string(lines[0])


@witness_app.callback()
def witness(
    ctx: typer.Context,
    key: Annotated[
        Path | None,
        typer.Option("--key", help="The witness's private key (`ledger witness keygen`)."),
    ] = None,
    listen: Annotated[str, typer.Option(help="HOST:PORT to serve on.")] = "127.0.0.1:7380",
    log_key: Annotated[
        list[str] | None,
        typer.Option(
            "--log-key",
            help="The ledger's checkpoint vkey (`ledger key public`); repeat for rotation.",
        ),
    ] = None,
    origin_prefix: Annotated[
        list[str] | None,
        typer.Option(
            help="Cosign only logs whose origin starts with this (default: any the keys sign)."
        ),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            help="Where the witness keeps what it cosigned and fork evidence (JSON lines)."
        ),
    ] = None,
    max_connections: Annotated[
        int,
        typer.Option(help="Connections served at once; more are answered 503 at once."),
    ] = 64,
) -> None:
    """Serve POST /add-checkpoint: verify, check consistency, remember, cosign; refuse forks."""
    if ctx.invoked_subcommand is not None:
        return
    from ledger.tlog.note import Verifier
    from ledger.witness.server import Witness, serve
    from ledger.witness.state import WitnessState

    if key is None:
        fail(
            "--key FILE is required (make one with `ledger witness keygen --out FILE`).",
            ExitCode.USAGE,
        )
    if not log_key:
        fail(
            "--log-key VKEY is required: the ledger's public key (`ledger key public`).",
            ExitCode.USAGE,
        )
    if len(log_key) > MAX_LOG_KEYS:
        fail(f"At most {MAX_LOG_KEYS} --log-key values (one per key in rotation).", ExitCode.USAGE)
    if not 1 <= max_connections <= 10_000:
        fail("--max-connections must be between 1 and 10000.", ExitCode.USAGE)
    host, port = _listen(listen)
    cosigner = _load_cosigner(key)
    try:
        verifiers = [Verifier.from_vkey(k) for k in log_key]
    except VerificationError as exc:
        fail(f"--log-key: {exc}", ExitCode.USAGE)
    state_path = state or key.with_name("witness-state.json")
    w = Witness(cosigner, verifiers, WitnessState(state_path), list(origin_prefix or []))
    logging.getLogger("ledger.witness").setLevel(logging.INFO)
    try:
        server = serve(w, host, port, max_connections)
    except OSError as exc:
        fail(f"Cannot listen on {host}:{port}: {exc.strerror}.", ExitCode.SERVICE)
    print(
        f"witness {cosigner.verifier.vkey} listening on http://{host}:{server.server_port}",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@witness_app.command("keygen")
def keygen(
    out: Annotated[Path, typer.Option("--out", help="Where to write the private key (mode 0600).")],
    name: Annotated[
        str, typer.Option(help="The witness's name, e.g. witness.court.example/case-123.")
    ] = "witness",
) -> None:
    """Create a witness key; prints its public vkey, which verifiers pass as --witness-key."""
    from ledger.local_secrets import write_private
    from ledger.tlog.cosignature import Cosigner

    cosigner = Cosigner.generate(name)
    write_private(out, cosigner.key_string + "\n", "witness key")
    sys.stdout.write(cosigner.verifier.vkey + "\n")


@witness_app.command("evidence")
def evidence(
    state: Annotated[Path, typer.Option(help="The witness's state file.")],
) -> None:
    """Print the fork evidence the witness kept (JSON), if any."""
    from ledger.cli.output import print_json
    from ledger.witness.state import WitnessState

    kept = WitnessState(state)
    found = kept.evidence()
    if not found:
        console.print("No fork seen.")
        return
    print_json(found)
    if kept.dropped:
        console.print(f"{kept.dropped} more fork records were counted but not kept.")
    raise typer.Exit(ExitCode.VERIFICATION)
