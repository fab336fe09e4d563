"""The evidence: `ledger verify`, `replay`, `checkpoint`, `proof`, `verify-proof`, `keygen`, `key`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.common import (
    JsonFlag,
    MinWitnesses,
    VerifierKeys,
    WitnessKeys,
    settings,
    witness_minimum,
)
from ledger.cli.output import console, fail, print_json, print_table
from ledger.exit_codes import ExitCode

key_app = typer.Typer(help="The checkpoint signing key.", no_args_is_help=True)
proof_app = typer.Typer(help="Inclusion and consistency proofs.", no_args_is_help=True)


def verify(
    json_out: JsonFlag = False,
    index: Annotated[
        bool, typer.Option("--index", help="Instead: rebuild the taxpayer index and compare.")
    ] = False,
) -> None:
    """Recompute every log's hashes from the stored bytes and compare with Kafka and checkpoints."""
    if index:  # docs/mpt.md: the same as `ledger index verify`
        from ledger.cli.index import index_verify

        index_verify()
        return
    from rich.progress import Progress

    from ledger.ops.verify import verify_ledger
    from ledger.runtime import open_ledger

    s = settings()
    ledger = open_ledger(s, prepare=False)
    with Progress(transient=True, disable=json_out) as progress:
        task = progress.add_task("Verifying entries", total=None)
        report = verify_ledger(
            ledger.reader_url,
            ledger.schema,
            ledger.bootstrap,
            s,
            lambda n: progress.advance(task, n),
        )
    if json_out:
        print_json(report.to_json())
    else:
        print_table(
            "Verification",
            ["log", "entries", "checked against Kafka", "checkpoints", "root", "result"],
            [
                [
                    lg.log_id,
                    lg.entries,
                    lg.kafka_checked,
                    lg.checkpoints,
                    lg.root_hash[:16] + "...",
                    "ok" if lg.ok else lg.findings[0].kind,
                ]
                for lg in report.logs
            ],
        )
        for f in report.findings:
            console.print(f"[red]{f.kind}[/] in {f.log_id} at seq {f.seq}: {f.detail}")
        if not report.findings:
            console.print("[green]Every log verified.[/]")
    raise typer.Exit(report.exit_code)


def replay(
    into: Annotated[
        str | None, typer.Option(help="Target schema (default: a fresh ledger_replay_<time>).")
    ] = None,
    keep: Annotated[bool, typer.Option(help="Keep the replay schema afterwards.")] = False,
    json_out: JsonFlag = False,
) -> None:
    """Rebuild every projection from offset 0 into a fresh schema, then compare with the live one."""
    from ledger.ops.replay_command import run_replay

    result = run_replay(settings(), into=into, keep=keep, show_progress=not json_out)
    if json_out:
        print_json(
            {
                "equal": result.equal,
                "schema": result.schema,
                "messages": result.messages,
                "seconds": result.seconds,
                "differences": [d.__dict__ for d in result.differences],
                "reused_event_ids": result.reused_event_ids,
            }
        )
    else:
        rate = result.messages / result.seconds if result.seconds else 0
        console.print(
            f"Replayed {result.messages:,} messages into {result.schema} in {result.seconds:.1f} s ({rate:,.0f}/s)."
        )
        if result.equal:
            console.print(
                "[green]The replay equals the live projection[/] (entries, hashes, tree, volume, alerts)."
            )
        for d in result.differences:
            console.print(f"[red]{d.table}[/] first difference at {d.key}: {d.detail}")
        for reused in result.reused_event_ids:
            console.print(f"[red]reused event id[/]: {reused}")
    if not result.equal:
        raise typer.Exit(ExitCode.REPLAY_DIFFERS)
    raise typer.Exit(ExitCode.REUSED_EVENT_ID if result.reused_event_ids else ExitCode.OK)


def keygen(
    out: Annotated[Path, typer.Option("--out", help="Where to write the private key (mode 0600).")],
    name: Annotated[
        str, typer.Option(help="Key name shown in signature lines.")
    ] = "disclosure-ledger",
    taxpayer_key: Annotated[
        bool,
        typer.Option("--taxpayer-key", help="Write a random HMAC key for taxpayer refs instead."),
    ] = False,
) -> None:
    """Create a checkpoint signing key (prints its public vkey) or a taxpayer-ref HMAC key."""
    if taxpayer_key:
        from ledger.local_secrets import generate_taxpayer_key

        generate_taxpayer_key(out)
        console.print(
            f"Wrote a 32-byte taxpayer-ref key to {out}. Set LEDGER_TAXPAYER_KEY_FILE={out}"
        )
        return
    from ledger.keys import generate_key_file, load_signers

    generate_key_file(out, name)
    (signer,) = load_signers(out)
    print(signer.vkey)


@key_app.command("public")
def key_public() -> None:
    """Print the verifier key (note vkey format) of the signing key(s) in use."""
    from ledger.keys import load_signers, signing_key_path

    for signer in load_signers(signing_key_path(settings())):
        print(signer.vkey)


def checkpoint(
    log: Annotated[str, typer.Option("--log", help="Log id, e.g. ledger.disclosures/0.")],
) -> None:
    """Print the latest signed checkpoint of a log exactly as stored."""
    from ledger.runtime import open_ledger
    from ledger.store.checkpoints import latest_checkpoint
    from ledger.store.connection import connection

    ledger = open_ledger(settings(), prepare=False)
    with connection(ledger.reader_url, ledger.schema) as conn:
        latest = latest_checkpoint(conn, log)
    if latest is None:
        fail(f"No checkpoint for log {log!r}.", ExitCode.PROOF_UNAVAILABLE)
    sys.stdout.write(latest.note)


@proof_app.command("inclusion")
def proof_inclusion(
    event_id: Annotated[str, typer.Option("--event-id", help="The entry's event id.")],
    tree_size: Annotated[
        int | None, typer.Option(help="Prove against this checkpoint size.")
    ] = None,
    json_out: JsonFlag = True,
    tlog_proof: Annotated[
        bool, typer.Option("--tlog-proof", help="Write a C2SP tlog-proof@v1 instead of JSON.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file (.tlog-proof: that form).")
    ] = None,
    bundle: Annotated[
        Path | None,
        typer.Option(
            "--bundle",
            help="Offline: the entry's tlog-proof from an export bundle (no database needed).",
        ),
    ] = None,
) -> None:
    """Proof that an event is in its log, with the signed checkpoint it verifies against."""
    import json
    import uuid

    from ledger.ops.proofs import inclusion_proof_json
    from ledger.runtime import open_ledger
    from ledger.store.connection import connection
    from ledger.tlog.tlog_proof import SUFFIX, from_inclusion_json

    try:
        uuid.UUID(event_id)
    except ValueError:
        fail(f"--event-id {event_id!r} is not a UUID.", ExitCode.USAGE)
    if bundle is not None:
        from ledger.ops.bundle_tlog_proof import tlog_proof_from_bundle

        if tree_size is not None:
            fail(
                "--tree-size cannot be used with --bundle (the bundle's checkpoint decides).",
                ExitCode.USAGE,
            )
        text = tlog_proof_from_bundle(bundle, event_id).to_text()
    else:
        ledger = open_ledger(settings(), prepare=False)
        with connection(ledger.reader_url, ledger.schema) as conn:
            proof = inclusion_proof_json(conn, event_id, tree_size)
        if tlog_proof or (out is not None and out.suffix == SUFFIX):
            text = from_inclusion_json(proof).to_text()
        else:
            text = json.dumps(proof, indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"Cannot write {out}: {exc.strerror}.", ExitCode.ERROR)


@proof_app.command("consistency")
def proof_consistency(
    log: Annotated[str, typer.Option("--log")],
    old: Annotated[int, typer.Option("--old", min=1)],
    new: Annotated[int, typer.Option("--new", min=1)],
    json_out: JsonFlag = True,
) -> None:
    """Proof that the log at size NEW extends the log at size OLD without rewriting it."""
    from ledger.ops.proofs import consistency_proof_json
    from ledger.runtime import open_ledger
    from ledger.store.connection import connection

    ledger = open_ledger(settings(), prepare=False)
    with connection(ledger.reader_url, ledger.schema) as conn:
        print_json(consistency_proof_json(conn, log, old, new))


def verify_proof(
    file: Annotated[Path, typer.Argument(help="A saved proof: JSON or .tlog-proof.")],
    key: VerifierKeys,
    witness_key: WitnessKeys = None,
    min_witnesses: MinWitnesses = None,
    entry: Annotated[
        Path | None,
        typer.Option(help="The entry's bytes, for a .tlog-proof that does not carry them."),
    ] = None,
) -> None:
    """Check a saved proof (JSON or C2SP tlog-proof) offline: only the proof and public keys."""
    from ledger.tlog.offline import check_proof_file

    witnesses = witness_key or []
    minimum = witness_minimum(witnesses, min_witnesses)
    try:
        entry_bytes = None if entry is None else entry.read_bytes()
    except OSError as exc:
        fail(f"Cannot read {entry}: {exc.strerror}.", ExitCode.USAGE)
    result = check_proof_file(file, key, witnesses, minimum, entry_bytes)
    console.print(f"[green]OK[/] {result.kind} proof for {result.origin}: {result.detail}.")
