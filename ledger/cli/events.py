"""`ledger emit` and `ledger consume`: events onto the disclosures topic, and the consumers."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ledger.cli.common import JsonFlag, settings
from ledger.cli.output import console, fail, print_json
from ledger.errors import ExitCode

if TYPE_CHECKING:
    from ledger.runtime import Ledger

TAKEN_CHUNK = 50_000  # event ids asked about per query


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
    from ledger.ops.emit_lines import prepare_lines
    from ledger.runtime import open_ledger

    if file == "-":
        data = sys.stdin.buffer.read()
    else:
        path = Path(file)
        if not path.is_file():
            fail(f"{file}: no such file.", ExitCode.USAGE)
        data = path.read_bytes()
    # Lines end at \n only (str.splitlines would also split inside a JSON string at U+2028);
    # bytes that are not UTF-8 become lone surrogates, which validation names by line and field.
    lines = data.decode("utf-8", errors="surrogateescape").split("\n")
    # All parsed, validated and encoded (in worker processes) before any send.
    numbers, messages = prepare_lines(lines, EMIT_EVENT_TYPES)
    ledger = open_ledger(settings())
    refuse_taken_ids(ledger, numbers, [m.event_id for m in messages])
    limit = topic_message_limit(ledger.bootstrap, ledger.topics.disclosures)
    # Batches no larger than one message may be, so the broker takes every batch whole.
    with EventProducer(
        ledger.bootstrap, ledger.topics.disclosures, batch_size=min(BATCH_SIZE, limit)
    ) as producer:
        try:
            sent = producer.send_encoded(messages, max_message_bytes=limit)
        except OversizedEventsError as exc:
            errors = []
            for i, size in exc.oversized:  # rare: read those lines again for the largest field
                [(_, event)] = parse_numbered_lines([lines[numbers[i] - 1]], first_line=numbers[i])
                errors.append(LineError(numbers[i], oversize_reason(event, size, exc.limit)))
            raise BatchValidationError(errors) from None
    if json_out:
        print_json([s.__dict__ for s in sent])
    else:
        console.print(f"Sent {len(sent)} event(s) to {ledger.topics.disclosures}.")


def refuse_taken_ids(ledger: Ledger, numbers: list[int], event_ids: list[str]) -> None:
    """Refuses (one line, exit 5) an event id the ledger holds already or the file repeats:
    sent, it could only be a redelivery or a conflicting reuse, never a new event."""
    from ledger.store.claims import taken
    from ledger.store.connection import connection

    lines: dict[str, int] = {}
    for number, event_id in zip(numbers, event_ids, strict=True):
        if event_id in lines:
            fail(
                f"line {number}: event id {event_id} is also on line {lines[event_id]};"
                " nothing was sent.",
                ExitCode.INVALID_EVENT,
            )
        lines[event_id] = number
    where: dict[str, str] = {}
    ids = list(lines)
    with connection(ledger.reader_url, ledger.schema) as conn:
        for start in range(0, len(ids), TAKEN_CHUNK):
            where.update(taken(conn, ids[start : start + TAKEN_CHUNK]))
    if where:
        first = min(where, key=lines.__getitem__)
        more = f" (and {len(where) - 1} more line(s))" if len(where) > 1 else ""
        fail(
            f"line {lines[first]}: event id {first} is already in the ledger at {where[first]}"
            f"{more}; leave event_id out to get a new one. Nothing was sent.",
            ExitCode.INVALID_EVENT,
        )


def consume(
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only", help="Run only this consumer (audit_log, volume, alert_delivery); repeatable."
        ),
    ] = None,
    threads: Annotated[
        bool,
        typer.Option(
            "--threads", help="All consumers as threads of this one process (one core at most)."
        ),
    ] = False,
) -> None:
    """Run the consumers in the foreground until Ctrl-C (offsets are stored with the rows).

    By default each consumer runs in a process of its own (they are CPU-bound: processes use
    every core), supervised and restarted with backoff if one exits.
    """
    import signal

    from ledger.followers.service import CONSUMER_NAMES, check_names, start_consumers
    from ledger.runtime import open_ledger

    ledger = open_ledger(settings())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if not only and not threads:
        _supervise_processes(list(CONSUMER_NAMES), stop)
        return
    check_names(only or CONSUMER_NAMES)
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


def _supervise_processes(names: list[str], stop: threading.Event) -> None:
    from ledger.followers.processes import ProcessSupervisor

    supervisor = ProcessSupervisor(names)
    supervisor.start()
    console.print(f"Consuming with {', '.join(names)}, one process each. Ctrl-C stops cleanly.")
    try:
        while not stop.wait(0.5):
            supervisor.watch()
    except KeyboardInterrupt:
        pass
    finally:
        supervisor.stop()
    for name, n in sorted(supervisor.restarts.items()):
        console.print(f"{name}: restarted {n} time(s)")
