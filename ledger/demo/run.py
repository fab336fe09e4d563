"""`ledger demo`: local services, consumers, a realistic year, the spike day, verify, dashboard."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from consumers.service import RunningConsumers, start_consumers
from ledger import localdev
from ledger.api.serving import serve_dashboard
from ledger.config import Settings
from ledger.demo import history as demo_history
from ledger.demo import requests as demo_requests
from ledger.demo.split import SPLIT_RECORDS, split_transfer
from ledger.errors import ServiceError
from ledger.events import LedgerEvent
from ledger.kafka.offsets import log_end_offsets
from ledger.kafka.producer import EventProducer
from ledger.ops.first_seen import first_seen
from ledger.ops.rebuild import wait_for_live
from ledger.ops.verify import checkpoint_checker, verify_all
from ledger.privacy import load_taxpayer_key, taxpayer_key_path
from ledger.rules.config import configured_rules
from ledger.runtime import Ledger, open_ledger
from ledger.store.alerts import alert_citing, alert_lines, alerts_in_scope
from ledger.store.connection import connection
from ledger.store.offsets import stored_offsets
from ledger.store.queries import alerts

console = Console()  # what the terminal shows; the CLI's own helpers sit above this layer


def wait_caught_up(ledger: Ledger, running: RunningConsumers, timeout: float = 120) -> None:
    """Waits for the consumers to store offsets at the log's end; a consumer's failure ends it."""
    ends = {
        tp: end
        for topic in ledger.topics.logged()  # the disclosures and the court topic
        for tp, end in log_end_offsets(ledger.bootstrap, topic).items()
    }
    names = [r.consumer.name for r in running.runners if r.topic == ledger.topics.disclosures]
    deadline = time.monotonic() + timeout
    while not wait_for_live(ledger.admin_url, ledger.schema, names, ends, 1.0):
        if running.errors:
            raise running.errors[0]
        if time.monotonic() > deadline:
            raise ServiceError(
                f"The consumers did not catch up with the log within {timeout:.0f} s "
                f"(log ends: {ends_text(ends)}; consumers at: {stored_offsets_text(ledger, names)})."
            )
    if running.errors:
        raise running.errors[0]


def ends_text(ends: dict[Any, int]) -> str:
    return ", ".join(f"{tp.partition}:{end}" for tp, end in sorted(ends.items()))


def stored_offsets_text(ledger: Ledger, names: list[str]) -> str:
    parts = log_end_offsets(ledger.bootstrap, ledger.topics.disclosures)
    wanted = [(tp.topic, tp.partition) for tp in parts]
    with connection(ledger.admin_url, ledger.schema) as conn:
        found = [
            f"{name} {p}:{o}"
            for name in sorted(names)
            for (_, p), o in sorted(stored_offsets(conn, name, wanted).items())
        ]
    return ", ".join(found) or "none stored"


def send_with_progress(producer: EventProducer, events: Sequence[LedgerEvent], label: str) -> None:
    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), transient=True) as progress:
        task = progress.add_task(label, total=len(events))
        for i in range(0, len(events), 2000):
            producer.send(events[i : i + 2000], lambda n: progress.advance(task, n))


def wait_for_alert(
    ledger: Ledger, rule: str, event_id: str, timeout: float = 30
) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout
    with connection(ledger.reader_url, ledger.schema, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = alert_citing(conn, rule, event_id)
            if row:
                return row
            time.sleep(0.005)
    return None


def show_alerts(ledger: Ledger, title: str, since_rows: int = 0) -> int:
    """Prints alerts stored after the first ``since_rows``, one line each; returns the total."""
    with connection(ledger.reader_url, ledger.schema) as conn:
        rows = alert_lines(conn)
    fresh = rows[since_rows:]
    if fresh:
        console.print(f"[bold]{title}[/] ({len(fresh)})")
        colour = {"critical": "red", "warning": "yellow", "info": "cyan"}
        for day, rule, severity, message in fresh[:25]:
            console.print(
                f"  {day} [{colour.get(severity, 'white')}]{rule}[/] {message}", highlight=False
            )
        if len(fresh) > 25:
            console.print(f"  ... and {len(fresh) - 25} more (`ledger alerts`)")
    return len(rows)


def show_contested(ledger: Ledger, title: str) -> None:
    """Prints each alert a later fact contested (it stays open) with the reason."""
    with connection(ledger.reader_url, ledger.schema) as conn:
        found = [a for a in alerts(conn, status="open") if a["rule"] != "finding_contested"]
    contested = [a for a in found if str(a["status_reason"] or "").startswith("contested: ")]
    if contested:
        console.print(f"[bold]{title}[/] ({len(contested)})")
        for a in contested:
            console.print(
                f"  {a['day']} [red]{a['rule']}[/] on {a['scope']} stays open, {a['status_reason']}",
                highlight=False,
            )


def run_demo(settings: Settings, *, serve: bool = True) -> None:
    tz = settings.timezone
    console.rule("[bold]Disclosure Ledger demo")
    with console.status("Starting local Kafka and PostgreSQL..."):
        ep = localdev.up(settings)
        ledger = open_ledger(settings)
    console.print(f"Kafka {ep.kafka_bootstrap}  PostgreSQL {ep.database_url.split('@')[-1]}")
    running = start_consumers(ledger)
    producer = EventProducer(ledger.bootstrap, ledger.topics.disclosures)
    try:
        history = demo_history.history(tz)
        first, last = history[0].transmitted_at, history[-1].transmitted_at
        console.print(
            f"Emitting {len(history):,} disclosures from {first:%d %b %Y} to {last:%d %b %Y} "
            "(U.S. Attorneys, state tax agencies, Census, SSA, a little to ICE)..."
        )
        # The requests first: the (i)(2) disclosures cite them, and request_incomplete checks them.
        producer.send(demo_requests.requests_for(history))
        send_with_progress(producer, history, "Emitting a year of disclosures")
        with console.status("Consumers building the audit log and daily volume..."):
            wait_caught_up(ledger, running)
        seen = show_alerts(ledger, "Alerts during the ordinary year")
        with connection(ledger.reader_url, ledger.schema) as conn:
            firsts = first_seen(conn, configured_rules(settings))
        console.print(
            f"The first year is the warm-up: {len(firsts)} recipients and authorities first seen,"
            " no new_recipient / new_authority alert (`ledger alerts --first-seen` lists them)."
        )

        spike = demo_history.spike(tz)
        console.rule("[bold red]7 August 2025")
        console.print(
            f"One transmission: {demo_history.SPIKE_RECORDS:,} last-known addresses to ICE under "
            "26 U.S.C. 6103(i)(2)."
        )
        producer.send([demo_requests.spike_request(spike)])
        started = time.perf_counter()
        producer.send([spike])
        manifest = demo_history.manifest(
            spike.disclosure_id,
            load_taxpayer_key(taxpayer_key_path(settings)),
            occurred_at=datetime.now(UTC),
        )
        alert = wait_for_alert(ledger, "spike_over_prior_year", spike.event_id)
        latency = time.perf_counter() - started
        if alert is None:
            raise ServiceError("The spike alert did not fire within 30 s; see `ledger alerts`.")
        console.print(
            f"[bold red]ALERT[/] {alert['rule']} on {alert['scope']}: {alert['observed']:,} records in one "
            f"day against {alert['threshold']:,} in the 365 days before. "
            f"[bold]Emit to alert: {latency * 1000:.0f} ms.[/]"
        )
        with connection(ledger.reader_url, ledger.schema) as conn:
            family = alerts_in_scope(conn, "authority", "IRS", "6103(i)", rule=alert["rule"])
        if family:
            console.print(
                f"All of 6103(i), every federal law-enforcement exception: {family[0]['observed']:,}"
                f" records that day against {family[0]['threshold']:,} in the 365 days before."
            )
        producer.send(manifest)
        console.print(
            f"Its manifest: {demo_history.SPIKE_RECORDS:,} taxpayer refs (keyed hashes) in "
            f"{len(manifest)} DisclosureManifest chunks. Try the accounting with TIN "
            f"{demo_history.example_tin()}."
        )
        wait_caught_up(ledger, running)
        seen = show_alerts(ledger, "Alerts on the spike day", seen)

        console.rule("[bold]8 to 11 September 2025: one transfer in four parts")
        console.print(
            f"{sum(SPLIT_RECORDS):,} records to the FBI in four transmissions on four days, none"
            " alone over the Justice Department's prior year."
        )
        split = split_transfer(tz)
        producer.send(demo_requests.requests_for(split))
        producer.send(split)
        wait_caught_up(ledger, running)
        seen = show_alerts(ledger, "Alerts on the split transfer", seen)

        console.rule("[bold]September 2025: the court orders 24 hours' notice")
        order, *story = demo_history.court_order_story(tz)
        producer.send([order])  # on the broker before the notices and transmissions it governs
        producer.send(demo_requests.requests_for(story))
        producer.send(story)
        producer.send_raw(b"not an avro event", b"demo", [("event_type", b"DisclosureRecorded")])
        wait_caught_up(ledger, running)
        seen = show_alerts(
            ledger, "Alerts after the notice order (and one malformed message)", seen
        )
        console.rule("[bold]December 2025: the source amends the 7 August transmission")
        producer.send([demo_history.contested_amendment(spike)])
        wait_caught_up(ledger, running)
        show_alerts(ledger, "Alerts after the amendment", seen)
        show_contested(
            ledger, "Contested by later facts (they stay open until a person acknowledges)"
        )

        with connection(ledger.reader_url, ledger.schema) as conn, console.status("Verifying..."):
            report = verify_all(conn, ledger.bootstrap, checkpoint_checker(settings))
        status = (
            "[green]verified[/]" if not report.findings else f"[red]{report.findings[0].kind}[/]"
        )
        console.print(
            f"ledger verify: {sum(lg.entries for lg in report.logs):,} entries in {len(report.logs)} "
            f"logs, {status}."
        )
        if serve:
            serve_dashboard(ledger)
    finally:
        producer.close()
        running.stop()
