"""`ledger accounting`: the Privacy Act accounting of one taxpayer's disclosures (docs/reports.md).

The TIN is read from a file, turned into its keyed ref in memory and never recorded: the access
record says only that an accounting was made.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ledger.cli.common import JsonFlag, record_access, settings
from ledger.cli.output import console, fail, print_json
from ledger.cli.reports import print_wide_table
from ledger.exit_codes import ExitCode

# What `--json` gives for each disclosure (a list of these; with --index-proof, under
# "disclosures" beside "index_proof").
ACCOUNTING_FIELDS = {
    "day": "day",
    "recipient": "recipient_agency",
    "recipient_address": "recipient_address",
    "authority": "legal_authority",
    "purpose": "purpose",
    "tax_periods": "tax_periods",
    "disclosure_id": "disclosure_id",
    "withheld_from_individual": "withheld_from_individual",
    "source_agency": "source_agency",
    "event_id": "event_id",
    "record_count": "record_count",
    "withdrawn": "withdrawn",
    "amended": "amended",
    "first_day": "first_day",
    "first_recipient_agency": "first_recipient_agency",
    "first_legal_authority": "first_legal_authority",
    "first_record_count": "first_record_count",
    "listed_taxpayers": "listed_taxpayers",
    "refs_reconcile": "refs_reconcile",
    "refs_note": "refs_note",
}


def _status(r: dict[str, Any]) -> str:
    """Withdrawn or amended, with what was first recorded: the accounting was owed then."""
    if r["withdrawn"]:
        return f"withdrawn (first recorded {r['first_record_count']:,} records)"
    if r["amended"]:
        return (
            f"amended (first recorded {r['first_day']}, {r['first_recipient_agency']},"
            f" {r['first_legal_authority']}, {r['first_record_count']:,} records)"
        )
    return "as recorded"


def accounting(
    tin_file: Annotated[
        Path,
        typer.Option(
            "--tin-file", help="File holding one TIN (never pass it on the command line)."
        ),
    ],
    json_out: JsonFlag = False,
    index_proof: Annotated[
        bool, typer.Option("--index-proof", help="With --json: add the taxpayer index's proof.")
    ] = False,
) -> None:
    """Privacy Act accounting: every disclosure that included one taxpayer (by keyed hash)."""
    from ledger.local_secrets import configured_or_existing
    from ledger.privacy import load_taxpayer_key, taxpayer_ref
    from ledger.rules.reports import BASIS, accounting_coverage
    from ledger.runtime import open_ledger
    from ledger.store import reports
    from ledger.store.connection import connection

    if index_proof and not json_out:
        fail("--index-proof goes with --json.", ExitCode.USAGE)
    from ledger.safe_files import read_text, why

    try:
        tin = read_text(tin_file, what="--tin-file").strip()  # a regular file, never a link
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"Cannot read {tin_file}: {why(exc)}.", ExitCode.USAGE)
    s = settings()
    # Never a key made up on the spot: it would silently find no taxpayer at all.
    key_file = configured_or_existing(s.taxpayer_key_file, s.data_dir, "taxpayer-ref.key")
    ref = taxpayer_ref(load_taxpayer_key(key_file), tin)
    del tin
    ledger = open_ledger(s, prepare=False)
    with connection(ledger.reader_url, ledger.schema) as conn:
        found = reports.accounting(conn, ref)
        unlisted, unlisted_records = reports.unlisted(conn)
        if index_proof:  # docs/mpt.md: {"disclosures": [...], "index_proof": {...}}
            from ledger.ops.taxpayer_index import index_answer, indexer_for

            proven = index_answer(conn, indexer_for(ledger), ref)
    # Only that an accounting was made: never the TIN, nor its ref.
    record_access(ledger, "auditor", "accounting", {"kind": "privacy-act-accounting"}, len(found))
    if json_out:
        listed = [{k: r[c] for k, c in ACCOUNTING_FIELDS.items()} for r in found]
        print_json({"disclosures": listed, "index_proof": proven} if index_proof else listed)
        return
    print_wide_table(
        f"Disclosures including this taxpayer ({len(found)})",
        [
            "day",
            "source",
            "recipient",
            "address",
            "authority",
            "purpose",
            "tax periods",
            "disclosure",
            "records (taxpayers listed)",
            "status",
            "withheld",
        ],
        [
            [
                str(r["day"]),
                r["source_agency"],
                r["recipient_agency"],
                r["recipient_address"] or "-",
                r["legal_authority"],
                r["purpose"],
                ", ".join(r["tax_periods"]) or "-",
                r["disclosure_id"],
                f"{r['record_count']:,} ({r['listed_taxpayers']:,})",
                _status(r),
                "yes" if r["withheld_from_individual"] else "no",
            ]
            for r in found
        ],
        numeric=[0, 8],
    )
    say = [accounting_coverage(len(found), unlisted, unlisted_records)]
    say += [
        f"{r['disclosure_id']} ({r['source_agency']}) {r['refs_note']}."
        for r in found
        if r["refs_note"]
    ]
    if any(r["withheld_from_individual"] for r in found):
        say.append(
            "withheld: 26 U.S.C. 6103(i) (law-enforcement) disclosures are not shown to the"
            " individual who asks."
        )
    say.append(BASIS)
    for line in say:
        console.print(line, soft_wrap=True, highlight=False)
