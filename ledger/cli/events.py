"""`ledger emit` and `ledger consume`: events onto the disclosures topic, and the consumers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.common import JsonFlag, settings
from ledger.cli.output import console, fail, print_json
from ledger.errors import ExitCode


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
            fail(f"{file}: no such file.", ExitCode.USAGE)
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
