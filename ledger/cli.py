"""The `ledger` command line: local services, emit, consume, query, verify, replay, demo."""

from __future__ import annotations

import logging
import os
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import typer._click.exceptions as cli_errors  # typer vendors click; its errors live here

from ledger import localdev
from ledger.cli_output import console, err_console, fail, print_json, print_table

if TYPE_CHECKING:
    from ledger.runtime import Ledger
from ledger.config import Settings
from ledger.errors import ExitCode, LedgerError

app = typer.Typer(
    help="The Disclosure Ledger: a tamper-evident record of taxpayer-data disclosures.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

key_app = typer.Typer(help="The checkpoint signing key.", no_args_is_help=True)
proof_app = typer.Typer(help="Inclusion and consistency proofs.", no_args_is_help=True)
alerts_app = typer.Typer(help="Alerts with rule, scope, observed, threshold, delivery; `ack` one.")
app.add_typer(key_app, name="key")
app.add_typer(proof_app, name="proof")
app.add_typer(alerts_app, name="alerts")

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


def settings() -> Settings:
    return Settings.from_env()


def audit_cli(ledger: Ledger, action: str, params: dict[str, object], returned: int) -> None:
    """Every CLI query is itself recorded as a LedgerAccessed event (oversight of the overseers)."""
    import getpass

    from ledger.access_log import AccessLog

    log = AccessLog(ledger.bootstrap, ledger.topics.disclosures, recorded_by="ledger-cli")
    log.record(getpass.getuser(), "cli", action, params, returned)
    log.close()


@app.command()
def up(json_out: JsonFlag = False) -> None:
    """Start local Kafka and PostgreSQL (unless LEDGER_KAFKA_BOOTSTRAP/LEDGER_DATABASE_URL are set)."""
    from ledger.runtime import open_ledger

    s = settings()
    with console.status("Starting local Kafka and PostgreSQL..."):
        ep = localdev.up(s)
        open_ledger(s)
    if json_out:
        print_json({"kafka_bootstrap": ep.kafka_bootstrap, "database_url": ep.database_url})
    else:
        console.print(
            f"Kafka      {ep.kafka_bootstrap}\nPostgreSQL {ep.database_url}", soft_wrap=True
        )


@app.command()
def down() -> None:
    """Stop the local services this project started (nothing else is touched)."""
    localdev.down(settings())
    console.print("Local services stopped.")


@app.command()
def status(json_out: JsonFlag = False) -> None:
    """Show the Kafka bootstrap address and database URL in use."""
    state = localdev.status(settings())
    if json_out:
        print_json(state)
    else:
        print_table("Ledger services", ["setting", "value"], sorted(state.items()))


@app.command()
def emit(
    file: Annotated[str, typer.Option("--file", "-f", help="JSON lines file, or - for stdin.")],
    json_out: JsonFlag = False,
) -> None:
    """Validate every line of a JSON-lines file, then send them all (or none) to Kafka.

    Only agencies' and courts' event types are accepted (ledger.intake.EMIT_EVENT_TYPES), and
    every event must fit one Kafka message on the topic, or nothing is sent.
    """
    from ledger.intake import (
        EMIT_EVENT_TYPES,
        BatchValidationError,
        LineError,
        oversize_reason,
        parse_numbered_lines,
    )
    from ledger.kafka.producer import (
        BATCH_SIZE,
        EventProducer,
        OversizedEventsError,
        topic_message_limit,
    )
    from ledger.runtime import open_ledger

    if file == "-":
        data = sys.stdin.buffer.read()
    else:
        path = Path(file)
        if not path.is_file():
            fail(f"{file}: no such file.", 2)
        data = path.read_bytes()
    # Lines end at \n only (str.splitlines would also split inside a JSON string at U+2028);
    # bytes that are not UTF-8 become lone surrogates, which validation names by line and field.
    lines = data.decode("utf-8", errors="surrogateescape").split("\n")
    numbered = parse_numbered_lines(lines, allowed_types=EMIT_EVENT_TYPES)  # all before any send
    events = [event for _, event in numbered]
    ledger = open_ledger(settings())
    limit = topic_message_limit(ledger.bootstrap, ledger.topics.disclosures)
    # Batches no larger than one message may be, so the broker takes every batch whole.
    with EventProducer(
        ledger.bootstrap, ledger.topics.disclosures, batch_size=min(BATCH_SIZE, limit)
    ) as producer:
        try:
            sent = producer.send(events, max_message_bytes=limit)
        except OversizedEventsError as exc:
            raise BatchValidationError(
                [
                    LineError(numbered[i][0], oversize_reason(events[i], size, exc.limit))
                    for i, size in exc.oversized
                ]
            ) from None
    if json_out:
        print_json([s.__dict__ for s in sent])
    else:
        console.print(f"Sent {len(sent)} event(s) to {ledger.topics.disclosures}.")


def _parse_day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{name} {value!r} is not a date (YYYY-MM-DD).", 2)
    return None


@app.command()
def consume(
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Run only this consumer (audit_log, volume).")
    ] = None,
) -> None:
    """Run the consumers in the foreground until Ctrl-C (offsets are stored with the rows)."""
    import signal
    import threading

    from ledger.followers.service import start_consumers
    from ledger.runtime import open_ledger

    ledger = open_ledger(settings())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    running = start_consumers(ledger, only)
    names = ", ".join(r.follower.name for r in running.runners)
    console.print(f"Consuming {ledger.topics.disclosures} with {names}. Ctrl-C stops cleanly.")
    try:
        # A consumer that fails is restarted by its supervisor; this process keeps going.
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
    for r in running.runners:
        st = r.follower.stats
        restarts = running.restarts.get(r.follower.name, 0)
        console.print(
            f"{r.follower.name}: {st.messages} message(s) in {st.batches} batch(es) {st.extra}"
            + (f", restarted {restarts} time(s)" if restarts else "")
        )


@app.command()
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

    first, last = _parse_day(since, "--since"), _parse_day(until, "--until")
    if volume is not None and volume not in ("recipient", "authority", "source"):
        fail("--volume must be recipient, authority or source.", 2)
    ledger = open_ledger(settings(), prepare=False)
    with connection(ledger.reader_url, ledger.schema) as conn:
        if volume:
            value = recipient if volume == "recipient" else authority
            rows = queries.volume_series(conn, volume, None, value, first, last)
            audit_cli(
                ledger,
                "query volume",
                {"kind": volume, "value": value, "since": first, "until": last},
                len(rows),
            )
            if json_out:
                print_json(rows)
                return
            print_table(
                f"Daily volume by {volume}",
                ["day", "source", "scope", "disclosures", "records", "prior 365 days"],
                [[r["day"], r["source_agency"], r["scope_value"] or "(all)", r["disclosures"],
                  f"{r['records']:,}", f"{r['prior_365_records']:,}"] for r in rows[-limit:]],
            )  # fmt: skip
            return
        rows, total = queries.disclosures(
            conn, queries.DisclosureFilter(recipient, authority, None, first, last, limit)
        )
    audit_cli(ledger, "query disclosures",
              {"recipient": recipient, "authority": authority, "since": first, "until": last}, len(rows))  # fmt: skip
    if json_out:
        print_json({"total": total, "disclosures": rows})
        return
    print_table(
        f"Disclosures ({len(rows)} of {total})",
        ["day", "recipient", "authority", "records", "purpose", "event id"],
        [[r["day"], r["recipient_agency"], r["legal_authority"], f"{r['record_count']:,}",
          r["purpose"][:40], r["event_id"]] for r in rows],
    )  # fmt: skip


@alerts_app.callback(invoke_without_command=True)
def alerts(
    ctx: typer.Context,
    rule: Annotated[str | None, typer.Option(help="Only this rule.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only alerts for days on or after (YYYY-MM-DD).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 200,
    json_out: JsonFlag = False,
) -> None:
    """Alerts with rule, scope, observed value, threshold, time fired and delivery status."""
    if ctx.invoked_subcommand is not None:
        return
    from ledger.runtime import open_ledger
    from ledger.store import queries
    from ledger.store.connection import connection

    ledger = open_ledger(settings(), prepare=False)
    with connection(ledger.reader_url, ledger.schema) as conn:
        rows = queries.alerts(conn, rule, _parse_day(since, "--since"), limit)
        warming = queries.warming_up_sources(conn)
    audit_cli(ledger, "alerts", {"rule": rule, "since": since}, len(rows))
    if json_out:
        print_json({"alerts": rows, "warming_up": warming})
        return
    print_table(
        f"Alerts ({len(rows)})",
        ["fired at", "day", "rule", "scope", "observed", "threshold", "delivery", "ack"],
        [[r["fired_at"].strftime("%Y-%m-%d %H:%M:%S"), r["day"], r["rule"], r["scope"],
          f"{r['observed']:,}", "" if r["threshold"] is None else f"{r['threshold']:,}",
          r["delivery"] or "-", r["acknowledged_by"] or "-"] for r in rows],
    )  # fmt: skip
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


@app.command()
def verify(json_out: JsonFlag = False) -> None:
    """Recompute every log's hashes from the stored bytes and compare with Kafka and checkpoints."""
    from rich.progress import Progress

    from ledger.ops.checkpointer import checkpoint_checker
    from ledger.ops.verify import verify_all
    from ledger.runtime import open_ledger
    from ledger.store.connection import connection

    s = settings()
    ledger = open_ledger(s, prepare=False)
    with (
        connection(ledger.reader_url, ledger.schema) as conn,
        Progress(transient=True, disable=json_out) as progress,
    ):
        task = progress.add_task("Verifying entries", total=None)
        report = verify_all(
            conn, ledger.bootstrap, checkpoint_checker(s), lambda n: progress.advance(task, n)
        )
    if json_out:
        print_json(report.to_json())
    else:
        print_table(
            "Verification",
            ["log", "entries", "checked against Kafka", "checkpoints", "root", "result"],
            [[lg.log_id, lg.entries, lg.kafka_checked, lg.checkpoints, lg.root_hash[:16] + "...",
              "ok" if lg.ok else lg.findings[0].kind] for lg in report.logs],
        )  # fmt: skip
        for f in report.findings:
            console.print(f"[red]{f.kind}[/] in {f.log_id} at seq {f.seq}: {f.detail}")
        if not report.findings:
            console.print("[green]Every log verified.[/]")
    raise typer.Exit(report.exit_code)


@app.command()
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
        print_json({"equal": result.equal, "schema": result.schema, "messages": result.messages,
                    "seconds": result.seconds, "differences": [d.__dict__ for d in result.differences]})  # fmt: skip
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
    raise typer.Exit(ExitCode.OK if result.equal else ExitCode.REPLAY_DIFFERS)


@app.command()
def demo(
    serve: Annotated[bool, typer.Option(help="Keep serving the dashboard until Ctrl-C.")] = True,
) -> None:
    """Start everything, emit a realistic year and the spike day, show the alert, verify."""
    from ledger.demo.run import run_demo

    run_demo(settings(), serve=serve)


@app.command()
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
    from ledger.keys import load_signers
    from ledger.ops.checkpointer import signing_key_path

    for signer in load_signers(signing_key_path(settings())):
        print(signer.vkey)


@app.command()
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
) -> None:
    """Proof that an event is in its log, with the signed checkpoint it verifies against."""
    import uuid

    from ledger.ops.proofs import inclusion_proof_json
    from ledger.runtime import open_ledger
    from ledger.store.connection import connection

    try:
        uuid.UUID(event_id)
    except ValueError:
        fail(f"--event-id {event_id!r} is not a UUID.", 2)
    ledger = open_ledger(settings(), prepare=False)
    with connection(ledger.reader_url, ledger.schema) as conn:
        print_json(inclusion_proof_json(conn, event_id, tree_size))


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


@app.command("verify-proof")
def verify_proof(
    file: Annotated[Path, typer.Argument(help="A saved proof JSON file.")],
    key: Annotated[
        list[str], typer.Option("--key", help="Verifier key (vkey); repeat for rotation.")
    ],
) -> None:
    """Check a saved proof offline: no database, no Kafka, only the proof and the public key."""
    from ledger.tlog.offline import check_proof_file

    result = check_proof_file(file, key)
    console.print(f"[green]OK[/] {result.kind} proof for {result.origin}: {result.detail}.")


token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")


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
    import getpass

    from ledger.access_log import AccessLog

    log = AccessLog(
        ledger.bootstrap, ledger.topics.disclosures, recorded_by="ledger-cli", timeout=10
    )
    try:
        fields = ("token_id", "name", "role", "expires_at")
        log.record(getpass.getuser(), "admin", action, {k: token.get(k) for k in fields}, 1)
    finally:
        log.close()


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
    columns = ["token_id", "name", "role", "status", "created_at", "expires_at", "revoked_at", "revoked_by"]  # fmt: skip
    print_table(f"API tokens ({len(tokens)})", columns, [[t[c] for c in columns] for t in tokens])


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


@app.command()
def migrate(json_out: JsonFlag = False) -> None:
    """Create topics, apply pending database migrations and (re)grant the ledger's roles."""
    from ledger.runtime import open_ledger
    from ledger.store.migrate import migrate as apply

    s = settings()
    ledger = open_ledger(s, prepare=False)
    applied = apply(ledger.admin_url, ledger.schema)
    open_ledger(s)  # topics, and grants on any table the migrations added
    if json_out:
        print_json({"applied": applied})
    else:
        console.print(f"Applied {', '.join(applied)}." if applied else "Nothing to apply.")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
) -> None:
    """Serve the read-only HTTP API and dashboard (OpenAPI at /openapi.json).

    Holds only the reader role's database credentials: run `ledger migrate` (or `ledger up`)
    first, and create tokens with `ledger token create`.
    """
    from ledger.runtime import open_reader
    from ledger.serving import serve as run

    run(open_reader(settings()), host, port)


@app.command()
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
    import getpass

    from ledger.access_log import AccessLog
    from ledger.local_secrets import configured_or_existing
    from ledger.privacy import load_taxpayer_key, taxpayer_ref
    from ledger.runtime import open_ledger
    from ledger.store import queries
    from ledger.store.connection import connection

    try:
        tin = tin_file.read_text().strip()
    except OSError as exc:
        fail(f"Cannot read {tin_file}: {exc.strerror}.", 2)
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
    log = AccessLog(ledger.bootstrap, ledger.topics.disclosures, recorded_by="ledger-cli")
    log.record(
        getpass.getuser(), "auditor", "accounting", {"kind": "privacy-act-accounting"}, len(rows)
    )
    log.close()
    if json_out:
        print_json(
            [
                dict(
                    zip(
                        ("day", "recipient", "authority", "purpose", "disclosure_id"),
                        r,
                        strict=True,
                    )
                )
                for r in rows
            ]
        )
    else:
        print_table(f"Disclosures including this taxpayer ({len(rows)})",
                    ["day", "recipient", "authority", "purpose", "disclosure"], rows)  # fmt: skip


def _unexpected(exc: Exception) -> str:
    first = (str(exc).strip().splitlines() or [""])[0]
    module = type(exc).__module__.split(".")[0]
    if module in ("psycopg", "psycopg_pool"):
        return f"PostgreSQL error: {first or type(exc).__name__}"
    if module == "kafka":
        return f"Kafka error: {first or type(exc).__name__}"
    return f"unexpected error: {type(exc).__name__}: {first}"


def main() -> None:
    """Entry point: LedgerErrors and usage errors become one line and a meaningful exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # kafka-python narrates routine coordinator moves (e.g. while the offsets topic is created).
    logging.getLogger("kafka").setLevel(logging.ERROR)
    command = typer.main.get_command(app)
    try:
        # standalone_mode=False makes click *return* the code of a typer.Exit instead of exiting
        # with it; every documented exit code (verify 10-15, replay 20, ...) must reach the shell.
        code = command.main(standalone_mode=False)
    except cli_errors.NoArgsIsHelpError:
        raise SystemExit(0) from None
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        fail("aborted.", ExitCode.INTERRUPTED)
    except cli_errors.UsageError as exc:
        fail(exc.format_message().splitlines()[0], 2)
    except cli_errors.ClickException as exc:
        fail(exc.format_message().splitlines()[0], 1)
    except LedgerError as exc:
        fail(exc.diagnostics(), exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted.", ExitCode.INTERRUPTED)
    except Exception as exc:  # a driver error no call site translated: one line, not a traceback
        if os.environ.get("LEDGER_DEBUG"):
            raise
        fail(f"{_unexpected(exc)} (set LEDGER_DEBUG=1 to see the traceback)", 1)
    raise SystemExit(code if isinstance(code, int) else 0)
