"""`ledger emit` and `ledger consume`: events onto the disclosures topic, and the consumers."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.common import JsonFlag, settings
from ledger.cli.output import console, fail
from ledger.exit_codes import ExitCode


def emit(
    file: Annotated[str, typer.Option("--file", "-f", help="JSON lines file, or - for stdin.")],
    json_out: JsonFlag = False,
    resume_from: Annotated[
        int,
        typer.Option(
            "--resume-from",
            min=1,
            help="Send from this line on (after a send that stopped part-way; it names the line).",
        ),
    ] = 1,
) -> None:
    """Validate every line of a JSON-lines file, then send them all (or none) to Kafka.

    Only agencies' and courts' event types are accepted (ledger.events.EMIT_EVENT_TYPES), and
    every event must fit one Kafka message on the topic, or nothing is sent. A file of any size
    is read in two streaming passes (ledger.ops.emit_file), so memory stays bounded.
    """
    from ledger.events import EMIT_EVENT_TYPES
    from ledger.kafka.producer import BATCH_SIZE, EventProducer, SentEvent, topic_message_limit
    from ledger.ops import emit_file
    from ledger.runtime import open_ledger
    from ledger.store.claims import taken
    from ledger.store.connection import connection

    s = settings()
    with emit_file.temporary_spool() as spool:
        spool_dir = Path(spool)
        if file == "-":
            path = emit_file.spool_stdin(sys.stdin.buffer, spool_dir)
        else:
            from ledger.safe_files import open_regular

            path = Path(file)
            if not path.exists() and not path.is_symlink():
                fail(f"{file}: no such file.", ExitCode.USAGE)
            with open_regular(path, what="--file"):
                pass  # a link, a FIFO or a device is refused here, before anything is read
        scanned = emit_file.scan(path)
        state = emit_file.ResumeState.load(s.data_dir, scanned.sha256) if resume_from > 1 else None
        if state is not None and state.resume_from != resume_from:
            state = None  # a different resume point: the acknowledged lines are not known
        occurred_at = state.occurred_at if state else emit_file.now_text()
        # Pass 1, in worker processes (forked: no Kafka client may be open yet).
        checked = emit_file.check_file(scanned, EMIT_EVENT_TYPES, occurred_at, spool_dir)
        ledger = open_ledger(s)
        limit = topic_message_limit(ledger.bootstrap, ledger.topics.disclosures)
        emit_file.refuse_oversized(scanned, checked, occurred_at, limit)
        acknowledged = set(state.acknowledged_after) if state else set()

        def already_sent(line: int) -> bool:  # by the run being resumed
            return line < resume_from or line in acknowledged

        with connection(ledger.reader_url, ledger.schema) as conn:
            emit_file.check_ids(checked.ids, lambda ids: taken(conn, ids), already_sent)
        printed = 0
        topics: set[str] = set()

        def shown(sent: SentEvent) -> None:
            nonlocal printed
            if json_out:
                emit_file.write_json_array_item(printed == 0, sent.__dict__)
            printed += 1
            topics.add(sent.topic)  # court events go to the court topic

        # Batches no larger than one message may be, so the broker takes every batch whole.
        with EventProducer(
            ledger.bootstrap, ledger.topics.disclosures, batch_size=min(BATCH_SIZE, limit)
        ) as producer:
            try:
                sent = emit_file.send_file(
                    producer,
                    scanned,
                    spool_dir,
                    skip_before=resume_from,
                    skip=state.acknowledged_after if state else (),
                    on_sent=shown,
                )
            except emit_file.SendInterruptedError as exc:
                exc.state.occurred_at = occurred_at
                exc.state.save(s.data_dir)
                if json_out:
                    print("]" if printed else "[]")
                raise
    if json_out:
        print("\n]" if printed else "[]")
    else:
        shown_topics = sorted(topics) or [ledger.topics.disclosures]
        console.print(f"Sent {sent} event(s) to {' and '.join(shown_topics)}.")


def consume(
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help="Run only this consumer (audit_log, volume, alert_delivery, taxpayer_index); repeatable.",
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

    from consumers.service import CONSUMER_NAMES, check_names, start_consumers
    from ledger.runtime import open_ledger

    ledger = open_ledger(settings())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if not only and not threads:
        _supervise_processes(list(CONSUMER_NAMES), stop)
        return
    check_names(only or CONSUMER_NAMES)
    running = start_consumers(ledger, only)
    names = ", ".join(r.consumer.name for r in running.runners)
    if running.index is not None:
        names = f"{names}, taxpayer_index" if names else "taxpayer_index"
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
        st = r.consumer.stats
        restarts = running.restarts.get(r.consumer.name, 0)
        console.print(
            f"{r.consumer.name}: {st.messages} message(s) in {st.batches} batch(es) {st.extra}"
            + (f", restarted {restarts} time(s)" if restarts else "")
        )
    if running.index is not None:
        loop = running.index
        console.print(
            f"taxpayer_index: {loop.snapshots} snapshot(s), {loop.cosignatures} cosignature(s)"
            + (f", restarted {loop.restarts} time(s)" if loop.restarts else "")
        )


def _supervise_processes(names: list[str], stop: threading.Event) -> None:
    from consumers.processes import ProcessSupervisor

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
