"""The taxpayer index: `ledger index update`, `ledger index verify`, `ledger verify-accounting`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.common import MinWitnesses, VerifierKeys, WitnessKeys, settings, witness_minimum
from ledger.cli.output import console, fail
from ledger.exit_codes import ExitCode

index_app = typer.Typer(help="The taxpayer index and its log.", no_args_is_help=True)


@index_app.command("update")
def index_update(
    every: Annotated[
        float | None,
        typer.Option(min=0.1, help="Keep running: look for new checkpoints every N seconds."),
    ] = None,
) -> None:
    """Index the disclosure logs up to their newest checkpoints; sign the index log and ask the
    configured witnesses (LEDGER_WITNESSES) to cosign it."""
    import time

    from consumers.index_witnessing import witness_index
    from ledger.ops.taxpayer_index import indexer_for, update_index
    from ledger.runtime import open_ledger

    ledger = open_ledger(settings(), prepare=False)
    indexer = indexer_for(ledger)  # one process keeps its tree between updates
    while True:
        snap = update_index(ledger, indexer)
        cosigned = witness_index(ledger)
        if snap is not None:
            console.print(f"Snapshot {snap.seq}: {snap.snapshot.hex()}.")
        elif every is None:
            console.print("The index already covers the newest checkpoints.")
        if cosigned:
            console.print(f"{cosigned} witness cosignature(s) on the index log.")
        if every is None:
            return
        time.sleep(every)


@index_app.command("verify")
def index_verify() -> None:
    """Rebuild the index from the log and compare every committed snapshot."""
    from ledger.ops.taxpayer_index import verify_index
    from ledger.runtime import open_ledger

    found = verify_index(open_ledger(settings(), prepare=False))
    if found is not None:
        fail(f"Index log leaf {found.snapshot_seq}: {found.what}.", ExitCode.VERIFICATION)
    console.print("[green]OK[/] every committed index snapshot rebuilds from the log.")


def verify_accounting(
    file: Annotated[Path, typer.Argument(help="`ledger accounting --json --index-proof` output.")],
    key: VerifierKeys,
    witness_key: WitnessKeys = None,
    min_witnesses: MinWitnesses = None,
    taxpayer_key: Annotated[
        Path | None, typer.Option(help="The taxpayer key file: check the answer is this TIN's.")
    ] = None,
    tin_file: Annotated[Path | None, typer.Option(help="File holding the TIN.")] = None,
) -> None:
    """Check an accounting's index proof offline: signatures, inclusion, MPT, each entry."""
    from ledger.privacy import load_taxpayer_key, taxpayer_ref
    from ledger.tlog.accounting_check import check_index_proof
    from ledger.tlog.note import Verifier

    if (taxpayer_key is None) != (tin_file is None):
        fail("--taxpayer-key and --tin-file go together.", ExitCode.USAGE)
    try:
        answer = json.loads(file.read_text(encoding="utf-8"))
        tin = None if tin_file is None else tin_file.read_text().strip()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"Cannot read {file if tin_file is None else 'the files'}: {exc}", ExitCode.USAGE)
    proof = answer.get("index_proof", answer) if isinstance(answer, dict) else None
    if not isinstance(proof, dict):
        fail(f"{file} holds no index_proof object.", ExitCode.VERIFICATION)
    secret = None if taxpayer_key is None else load_taxpayer_key(taxpayer_key)
    ref = None if secret is None or tin is None else taxpayer_ref(secret, tin)
    witnesses = witness_key or []
    minimum = witness_minimum(witnesses, min_witnesses)
    verifiers = [Verifier.from_vkey(k) for k in key]
    result = check_index_proof(proof, verifiers, witnesses, minimum, secret, ref)
    what = f"{result.entries} entries" if result.present else "absence"
    mine = "; key, value and entries are this taxpayer's" if ref is not None else ""
    console.print(
        f"[green]OK[/] {what} proven in index snapshot {result.snapshot[:16]}… of an index log "
        f"of {result.index_size}{mine}."
    )
