"""Evidence for a court: `ledger export` writes a bundle, `ledger verify-bundle` checks it offline."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.common import (
    MinWitnesses,
    VerifierKeys,
    WitnessKeys,
    parse_day,
    settings,
    witness_minimum,
)
from ledger.cli.output import console, fail
from ledger.exit_codes import ExitCode

PROFILES = ("auditor", "protective-order", "public")


def export(
    out: Annotated[Path, typer.Option("--out", help="A new or empty directory for the bundle.")],
    since: Annotated[
        str | None, typer.Option(help="First day (YYYY-MM-DD, LEDGER_TIMEZONE).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Last day, inclusive.")] = None,
    recipient: Annotated[
        str | None, typer.Option(help="Only disclosures to this recipient.")
    ] = None,
    authority: Annotated[
        str | None, typer.Option(help="Only disclosures under this authority.")
    ] = None,
    order: Annotated[
        str | None, typer.Option("--order", help="Only the transmissions this court order covers.")
    ] = None,
    since_checkpoint: Annotated[
        list[Path] | None,
        typer.Option(
            "--since-checkpoint",
            help="An earlier checkpoint you hold: the bundle proves it extends it. Repeatable.",
        ),
    ] = None,
    profile: Annotated[
        str, typer.Option(help="auditor (everything), protective-order (refs re-keyed) or public.")
    ] = "auditor",
) -> None:
    """Write a bundle of entries, proofs, checkpoints, alerts and rules that verifies offline."""
    from rich.progress import BarColumn, Progress, TextColumn

    from ledger.cli.common import record_access
    from ledger.cli.output import err_console
    from ledger.ops.export import ExportRequest, export_bundle
    from ledger.runtime import open_ledger
    from ledger.store.connection import connection

    if profile not in PROFILES:
        fail(f"--profile {profile!r} is not one of {', '.join(PROFILES)}.", ExitCode.USAGE)
    from ledger.safe_files import read_text

    notes = []
    for path in since_checkpoint or []:
        try:
            notes.append((path.name, read_text(path, what="--since-checkpoint")))
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"Cannot read --since-checkpoint {path}: {exc}", ExitCode.USAGE)
    s = settings()
    request = ExportRequest(
        out=out,
        profile=profile,
        since=parse_day(since, "--since"),
        until=parse_day(until, "--until"),
        recipient=recipient,
        authority=authority,
        order=order,
        since_checkpoints=tuple(notes),
        public_min_count=s.public_min_count,
    )
    ledger = open_ledger(s, prepare=False)
    with (
        connection(ledger.reader_url, ledger.schema, autocommit=True) as conn,
        Progress(
            TextColumn("Exporting entries"),
            BarColumn(),
            TextColumn("{task.completed:,}"),
            console=err_console,
            transient=True,
            disable=not sys.stderr.isatty(),
        ) as progress,
    ):
        task = progress.add_task("export", total=None)
        result = export_bundle(conn, s, request, lambda n: progress.advance(task, n))
    # Handing out evidence is itself recorded, as every query is (docs/overseer.md, "Every call").
    given = {k: v for k, v in request.filters().items() if v not in (None, [])}
    params = {**given, "profile": profile, "out": str(out)}
    record_access(ledger, "cli", "export", params, result.entries)
    held = f", {result.withheld} by leaf hash only" if result.withheld else ""
    console.print(
        f"Wrote the {result.profile} bundle to {result.out}: {result.entries:,} entries{held}, "
        f"{result.alerts} alerts."
        + (
            f" {result.uncovered} newer entries await a checkpoint and were left out."
            if result.uncovered
            else ""
        )
    )


def verify_bundle(
    directory: Annotated[Path, typer.Argument(help="The bundle directory.")],
    key: VerifierKeys,
    witness_key: WitnessKeys = None,
    min_witnesses: MinWitnesses = None,
) -> None:
    """Check a bundle offline: sums, entries, proofs, signatures, alerts, profile. No services."""
    from ledger.ops.bundle_verify import verify_bundle as check
    from ledger.tlog.cosignature import CosignatureVerifier, check_cosignatures
    from ledger.tlog.note import NoteError, Verifier

    if directory.is_symlink() or not directory.is_dir():
        fail(f"{directory} is not a bundle directory.", ExitCode.USAGE)
    for k in key:
        try:
            Verifier.from_vkey(k)
        except NoteError as exc:
            fail(f"--key: {exc}", ExitCode.USAGE)
    witnesses = witness_key or []
    for w in witnesses:
        try:
            CosignatureVerifier.from_vkey(w)
        except (NoteError, ValueError) as exc:
            fail(f"--witness-key: {exc}", ExitCode.USAGE)
    minimum = witness_minimum(witnesses, min_witnesses)

    def witnessed(note: str) -> None:
        if minimum:
            check_cosignatures(note, witnesses, minimum)

    console.print(check(directory, key, witnessed).line(), highlight=False, soft_wrap=True)
