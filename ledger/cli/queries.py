"""`ledger query`, `ledger alerts` (and `alerts ack`) and `ledger accounting`.

Each query is itself recorded as a LedgerAccessed event (common.record_access).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.common import JsonFlag, parse_day, record_access, settings
from ledger.cli.output import console, fail, print_json, print_table
from ledger.errors import ExitCode


class AlertStatus(StrEnum):
    open = "open"
    resolved = "resolved"
    all = "all"


alerts_app = typer.Typer(help="Alerts with rule, scope, observed, threshold, delivery; `ack` one.")


def query(
    recipient: Annotated[str | None, typer.Option(help="Recipient agency.")] = None,
    authority: Annotated[
        str | None, typer.Option(help="Legal authority, e.g. '26 U.S.C. 6103(i)(2)'.")
    ] = None,
    since: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Last day (YYYY-MM-DD).")] = None,
    volume: Annotated[
        str | None,
        typer.Option(help="Daily volume series instead: recipient, authority or source."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    json_out: JsonFlag = False,
) -> None:
    """Disclosures by recipient, authority and date range, or a daily volume series."""
    from ledger.runtime import open_ledger
    from ledger.store import queries
    from ledger.store.connection import connection

    first, last = parse_day(since, "--since"), parse_day(until, "--until")
    if volume is not None and volume not in ("recipient", "authority", "source"):
        fail("--volume must be recipient, authority or source.", ExitCode.USAGE)
    ledger = open_ledger(settings(), prepare=False)
    with connection(ledger.reader_url, ledger.schema) as conn:
        if volume:
            value = recipient if volume == "recipient" else authority
            rows = queries.volume_series(conn, volume, None, value, first, last)
            params = {"kind": volume, "value": value, "since": first, "until": last}
            record_access(ledger, "cli", "query volume", params, len(rows))
            if json_out:
                print_json(rows)
                return
            print_table(
                f"Daily volume by {volume}",
                ["day", "source", "scope", "disclosures", "records", "prior 365 days"],
                [
                    [
                        r["day"],
                        r["source_agency"],
                        r["scope_value"] or "(all)",
                        r["disclosures"],
                        f"{r['records']:,}",
                        f"{r['prior_365_records']:,}",
                    ]
                    for r in rows[-limit:]
                ],
            )
            return
        rows, total = queries.disclosures(
            conn, queries.DisclosureFilter(recipient, authority, None, first, last, limit)
        )
    params = {"recipient": recipient, "authority": authority, "since": first, "until": last}
    record_access(ledger, "cli", "query disclosures", params, len(rows))
    if json_out:
        print_json({"total": total, "disclosures": rows})
        return
    print_table(
        f"Disclosures ({len(rows)} of {total})",
        ["day", "recipient", "authority", "records", "purpose", "event id"],
        [
            [
                r["day"],
                r["recipient_agency"],
                r["legal_authority"],
                f"{r['record_count']:,}",
                r["purpose"][:40],
                r["event_id"],
            ]
            for r in rows
        ],
    )


@alerts_app.callback(invoke_without_command=True)
def alerts(
    ctx: typer.Context,
    rule: Annotated[str | None, typer.Option(help="Only this rule.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only alerts for days on or after (YYYY-MM-DD).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 200,
    status: Annotated[
        AlertStatus, typer.Option(help="open, resolved, or all (the default) alerts.")
    ] = AlertStatus.all,
    json_out: JsonFlag = False,
) -> None:
    """Alerts with rule, scope, status, observed value, threshold, time fired and delivery."""
    if ctx.invoked_subcommand is not None:
        return
    from ledger.runtime import open_ledger
    from ledger.store import queries
    from ledger.store.connection import connection

    ledger = open_ledger(settings(), prepare=False)
    with connection(ledger.reader_url, ledger.schema) as conn:
        rows = queries.alerts(conn, rule, parse_day(since, "--since"), limit, status.value)
        warming = queries.warming_up_sources(conn)
    query = {"rule": rule, "since": since, "status": status.value}
    record_access(ledger, "cli", "alerts", query, len(rows))
    if json_out:
        print_json({"alerts": rows, "warming_up": warming})
        return
    print_table(
        f"Alerts ({len(rows)})",
        ["fired at", "day", "rule", "scope", "status", "observed", "threshold", "delivery", "ack"],
        [
            [
                r["fired_at"].strftime("%Y-%m-%d %H:%M:%S"),
                r["day"],
                r["rule"],
                r["scope"],
                r["status"],
                f"{r['observed']:,}",
                "" if r["threshold"] is None else f"{r['threshold']:,}",
                r["delivery"] or "-",
                r["acknowledged_by"] or "-",
            ]
            for r in rows
        ],
    )
    for w in warming:
        console.print(
            f"spike_over_prior_year is still warming up for {w['source_agency']}: coverage starts "
            f"{w['coverage_start']}, the rule is active from {w['active_from']}."
        )


@alerts_app.command("ack")
def alerts_ack(
    alert_id: Annotated[str, typer.Argument(help="The alert id.")],
    by: Annotated[str, typer.Option("--by", help="Who acknowledges it.")],
    note: Annotated[str, typer.Option(help="Optional note.")] = "",
) -> None:
    """Record that a person acknowledged an alert (an AlertAcknowledged event)."""
    from ledger.ops.acknowledge import acknowledge
    from ledger.runtime import open_ledger

    event_id = acknowledge(open_ledger(settings(), prepare=False), alert_id, by, note)
    console.print(f"Acknowledged {alert_id} by {by} (event {event_id}).")


ACCOUNTING_COLUMNS = ("day", "recipient", "authority", "purpose", "disclosure_id")


def accounting(
    tin_file: Annotated[
        Path,
        typer.Option(
            "--tin-file", help="File holding one TIN (never pass it on the command line)."
        ),
    ],
    json_out: JsonFlag = False,
) -> None:
    """Privacy Act accounting: every disclosure that included one taxpayer (by keyed hash)."""
    from ledger.local_secrets import configured_or_existing
    from ledger.privacy import load_taxpayer_key, taxpayer_ref
    from ledger.runtime import open_ledger
    from ledger.store import queries
    from ledger.store.connection import connection

    try:
        tin = tin_file.read_text().strip()
    except OSError as exc:
        fail(f"Cannot read {tin_file}: {exc.strerror}.", ExitCode.USAGE)
    s = settings()
    # Never a key made up on the spot: it would silently find no taxpayer at all.
    key_file = configured_or_existing(s.taxpayer_key_file, s.data_dir, "taxpayer-ref.key")
    ref = taxpayer_ref(load_taxpayer_key(key_file), tin)
    del tin
    ledger = open_ledger(s, prepare=False)
    with connection(ledger.reader_url, ledger.schema) as conn:
        found = queries.accounting(conn, ref)
    rows = [
        (r["day"], r["recipient_agency"], r["legal_authority"], r["purpose"], r["disclosure_id"])
        for r in found
    ]
    # Only that an accounting was made: never the TIN, nor its ref.
    record_access(ledger, "auditor", "accounting", {"kind": "privacy-act-accounting"}, len(rows))
    if json_out:
        print_json([dict(zip(ACCOUNTING_COLUMNS, r, strict=True)) for r in rows])
    else:
        print_table(
            f"Disclosures including this taxpayer ({len(rows)})",
            ["day", "recipient", "authority", "purpose", "disclosure"],
            rows,
        )
