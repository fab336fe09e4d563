"""`ledger query`, `ledger alerts` (and `alerts ack`) and `ledger accounting`.

Each query is itself recorded as a LedgerAccessed event (common.record_access).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ledger.cli.common import JsonFlag, parse_day, record_access, settings
from ledger.cli.output import Column, console, counted, print_json, print_records, print_table

if TYPE_CHECKING:
    from ledger.ops.first_seen import FirstSeen
    from ledger.ops.volume_query import VolumeRequest
    from ledger.rules.config import RulesConfig
    from ledger.rules.registry import Registry
    from ledger.runtime import Ledger


VOLUME_TABLE: dict[str, Column] = {
    "day": "day",
    "source": "source_agency",
    "scope": lambda r: r.scope_value or "(all)",
    "disclosures": "disclosures",
    "records": counted("records"),
    "as amended": lambda r: (
        "" if r.records_as_amended == r.records else f"{r.records_as_amended:,}"
    ),
    "prior 365 days": counted("prior_365_records"),
}
DISCLOSURE_TABLE: dict[str, Column] = {
    "day": "day",
    "recipient": "recipient_agency",
    "authority": "legal_authority",
    "records": counted("record_count"),
    "purpose": lambda r: r.purpose[:40],
    "event id": "event_id",
}
ALERT_TABLE: dict[str, Column] = {
    "fired at": lambda r: r.fired_at.strftime("%Y-%m-%d %H:%M:%S"),
    "day": "day",
    "rule": "rule",
    "scope": "scope",
    "status": "status",
    "observed": counted("observed"),
    "threshold": lambda r: "" if r.threshold is None else f"{r.threshold:,}",
    "delivery": lambda r: r.delivery or "-",
    "ack": lambda r: r.acknowledged_by or "-",
}


def rules_config() -> RulesConfig:
    from ledger.rules.config import configured_rules

    return configured_rules(settings())


def registry() -> Registry:
    return rules_config().registry


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
        typer.Option(help="Daily volume series instead: recipient, authority, pair or source."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    json_out: JsonFlag = False,
) -> None:
    """Disclosures by recipient, authority and date range, or a daily volume series."""
    first, last = parse_day(since, "--since"), parse_day(until, "--until")
    if volume is not None:
        from ledger.ops.volume_query import VolumeRequest

        series = VolumeRequest(
            volume, recipient=recipient, authority=authority, since=first, until=last
        )
        _volume(series, limit, json_out)
        return
    from ledger.ops.disclosure_query import DisclosureRequest, disclosures
    from ledger.runtime import open_ledger
    from ledger.store.connection import connection

    asked = DisclosureRequest(recipient, authority, since=first, until=last, limit=limit)
    ledger = open_ledger(settings(), prepare=False)
    with connection(ledger.reader_url, ledger.schema) as conn:
        found = disclosures(conn, registry(), asked)
    rows = found.disclosures
    params = {"recipient": recipient, "authority": authority, "since": first, "until": last}
    record_access(ledger, "cli", "query disclosures", params, len(rows))
    if json_out:
        print_json({"total": found.total, "disclosures": rows})
        return
    print_records(f"Disclosures ({len(rows)} of {found.total})", DISCLOSURE_TABLE, rows)


def _volume(asked: VolumeRequest, limit: int, json_out: bool) -> None:
    """`ledger query --volume KIND`: every day of the series (the table shows the last ``limit``)."""
    from ledger.ops.volume_query import check, volume_series
    from ledger.runtime import open_ledger
    from ledger.store.connection import connection

    check(asked)  # a bad request is a usage error before anything is opened
    ledger = open_ledger(settings(), prepare=False)
    with connection(ledger.reader_url, ledger.schema) as conn:
        found = volume_series(conn, registry(), asked)
    rows = found.days
    params = {"kind": asked.kind, "value": found.value, "since": asked.since, "until": asked.until}
    record_access(ledger, "cli", "query volume", params, len(rows))
    if json_out:
        print_json(rows)
        return
    shown = rows[-limit:]
    print_records(f"Daily volume by {asked.kind}", VOLUME_TABLE, shown)
    if any(r.records_as_amended != r.records for r in shown):
        console.print(
            "records: as first recorded (the rules count these; they only go up). "
            "as amended: what the discloser's amendments and withdrawals would leave."
        )


@alerts_app.callback(invoke_without_command=True)
def alerts(
    ctx: typer.Context,
    rule: Annotated[str | None, typer.Option(help="Only this rule.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only alerts for days on or after (YYYY-MM-DD).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 200,
    kind: Annotated[
        str | None,
        typer.Option(help="Only scopes of this kind: recipient, authority, pair, source."),
    ] = None,
    scope: Annotated[
        str | None,
        typer.Option(
            help="Only this scope value, e.g. DHS, '26 USC 6103(i)', 'ICE under 6103(i)(2)'."
        ),
    ] = None,
    first_seen: Annotated[
        bool,
        typer.Option(
            "--first-seen", help="Recipients and authorities first seen while warming up instead."
        ),
    ] = False,
    status: Annotated[
        AlertStatus, typer.Option(help="open, resolved, or all (the default) alerts.")
    ] = AlertStatus.all,
    cursor: Annotated[
        str | None,
        typer.Option(help="Start after the page that gave this cursor (its next_cursor)."),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Alerts with rule, scope, status, observed value, threshold, time fired and delivery:
    open critical alerts first, then newest first, --limit at a time (--cursor for the next)."""
    if ctx.invoked_subcommand is not None:
        return
    from ledger.ops.alert_query import AlertsRequest, ScopesFirstSeen, alerts, check
    from ledger.runtime import open_ledger
    from ledger.store.connection import connection

    day = parse_day(since, "--since")
    asked = AlertsRequest(rule, day, kind, scope, status.value, limit, cursor, first_seen)
    config = rules_config()
    check(asked, config.registry)  # a bad request is a usage error before anything is opened
    ledger = open_ledger(settings(), prepare=False)
    with connection(ledger.reader_url, ledger.schema) as conn:
        found = alerts(conn, config, asked, warming_up=True)
    if isinstance(found, ScopesFirstSeen):
        _first_seen(ledger, found.scopes, json_out)
        return
    page, warming = found.page, found.warming_up
    rows = page.alerts
    params = {"rule": rule, "since": since, "kind": kind, "scope": scope, "status": status.value}
    record_access(ledger, "cli", "alerts", params | {"cursor": cursor}, len(rows))
    if json_out:
        print_json(
            {
                "alerts": rows,
                "more": page.more,
                "next_cursor": page.next_cursor,
                "warming_up": warming,
            }
        )
        return
    print_records(f"Alerts ({len(rows)}; open critical first, then newest)", ALERT_TABLE, rows)
    if page.next_cursor:
        console.print(
            f"{page.more:,} more: `ledger alerts --cursor {page.next_cursor}` (same filters)"
            " lists the next page.",
            soft_wrap=True,
            highlight=False,
        )
    for w in warming:
        console.print(
            f"The volume rules are still warming up for {w.source_agency}: coverage starts "
            f"{w.coverage_start}, they are active from {w.active_from} "
            "(`ledger alerts --first-seen` lists the scopes seen meanwhile)."
        )


def _first_seen(ledger: Ledger, rows: list[FirstSeen], json_out: bool) -> None:
    """The recipients and authorities first seen while their source warmed up (new_recipient and
    new_authority are silent then), from daily_volume."""
    record_access(ledger, "cli", "alerts first-seen", {}, len(rows))
    if json_out:
        print_json({"first_seen": rows})
        return
    print_table(
        f"Scopes first seen while warming up ({len(rows)})",
        ["scope", "first day", "disclosures", "records"],
        [[r.scope, r.first_day, r.disclosures, f"{r.records:,}"] for r in rows],
    )


@alerts_app.command("ack")
def alerts_ack(
    alert_id: Annotated[str, typer.Argument(help="The alert id.")],
    by: Annotated[
        str, typer.Option("--by", help="A display name kept in the note (not the identity).")
    ] = "",
    note: Annotated[str, typer.Option(help="Optional note.")] = "",
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file",
            envvar="LEDGER_TOKEN_FILE",
            help="File holding your overseer or auditor token: the acknowledgement carries its "
            "name (default: your operating-system login).",
        ),
    ] = None,
) -> None:
    """Record that you acknowledged an alert (an AlertAcknowledged entry of the signed log)."""
    from ledger.ops.acknowledge import acknowledge
    from ledger.runtime import open_ledger

    ledger = open_ledger(settings(), prepare=False)
    event_id, who = acknowledge(ledger, alert_id, note, display=by, token_file=token_file)
    console.print(f"Acknowledged {alert_id} as {who} (event {event_id}).")
