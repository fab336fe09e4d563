"""The ledger beside the do-it-yourself pipeline (Kafka Connect + Debezium JDBC sink), in one run.

    python -m bench.vs_connect [N] [--runs 3] [--skip-connect] [--sizes 200000,2000000]

One after the other, on one machine:

1. the ledger's services, started the way bench/common.py does (a local Kafka and PostgreSQL in a
   temporary LEDGER_DATA_DIR, stopped and removed at the end), or reused when
   LEDGER_KAFKA_BOOTSTRAP and LEDGER_DATABASE_URL are set;
2. raw baselines: kafka-python produce of N pre-encoded messages (acks=all, idempotent, the
   EventProducer's batching), kafka-python consume of N messages (assign + seek, no processing),
   psycopg COPY of N entry-shaped rows;
3. the peer, Kafka Connect 4.1.1 standalone + Debezium JDBC sink 3.5.0 (bench/connect/: 2 tasks,
   batch 5000) on its own broker and PostgreSQL on free ports: rows/s from connector + tasks
   RUNNING until all N rows are in the table (every row checked);
4. the ledger: N events emitted beforehand with `ledger emit --file` (timed: parse, validate,
   encode, send) and, for the producer figure, with EventProducer into a scratch topic; then the
   clock runs from starting the consumers (`ledger consume --only audit_log|volume`, separate
   processes, bench/common.consumer_processes) until both consumers' offsets in PostgreSQL reach
   the log end (every entry, volume row and alert committed); their peak RSS (VmHWM); then
   `ledger verify` (entries/s) and `ledger replay` (events/s), each timed as the command's wall
   time; then spike alert latency: with the consumers restarted and a steady load running
   (half the measured ingest rate by default), K spike events, each for a fresh (source,
   recipient) whose prior year was seeded in the backlog, are sent one per second; latency runs
   from the event's Kafka append time (LogAppendTime, from the produce response) to the moment
   the alert row is visible to a reader (polled every 10 ms); the alert's ``fired_at`` (its
   transaction's start) gives a lower bound, shown beside it;
5. steps 2-4 (and the peer) are repeated ``--runs`` times, interleaved, and the median of each
   figure is reported; latencies are pooled over the runs;
6. a table of every rate and the ratios ledger/Connect, ledger/raw consume, replay/ingest,
   verify/raw consume, emit/raw produce, EventProducer/raw produce (ratios of the medians).

``--sizes A,B`` repeats all of it at each size and adds a flatness table. Progress goes to
stderr, figures to stdout. Every step has a time budget (``--timeout-scale`` stretches them all);
every process and temporary directory it started is stopped and removed, on Ctrl-C too.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient
from psycopg import sql

from bench.common import bench_ledger, consumer_processes, disclosures, ledger_env, report
from bench.connect.peer import ConnectPeer, PeerRun
from bench.end_to_end import raw_consume, raw_copy
from bench.harness import (
    Deadline,
    cpu_seconds,
    median,
    peak_rss_mib,
    percentile,
    step,
    stop_popen,
    tree_cpu_seconds,
)
from ledger import localdev
from ledger.codec import EventCodec
from ledger.config import Settings, Topics
from ledger.events import DisclosureRecorded
from ledger.kafka.client import client_config
from ledger.kafka.offsets import log_end_offsets
from ledger.kafka.producer import EventProducer
from ledger.kafka.topics import ensure_topics
from ledger.localdev.process import read_pid
from ledger.runtime import Ledger
from ledger.store.connection import connection
from ledger.store.migrate import drop_schema

CONSUMERS = ["audit_log", "volume"]
SPIKE_RULE = "spike_over_prior_year"
SPIKE_DAY0 = date(2025, 3, 3)  # > 365 days after the backlog's first day (2024-01-01): no warm-up
SEED_RECORDS, SPIKE_RECORDS = 5, 1000
# The producer settings of EventProducer, for the raw baseline and the spike sender.
PRODUCER = {
    "acks": "all",
    "enable_idempotence": True,
    "linger_ms": 20,
    "batch_size": 256 * 1024,
    "max_request_size": 4 * 1024 * 1024,
}


@dataclasses.dataclass
class LedgerRun:
    n: int
    raw_produce_per_s: float = 0.0
    producer_per_s: float = 0.0
    emit_per_s: float = 0.0
    raw_consume_per_s: float = 0.0
    raw_copy_per_s: float = 0.0
    ingest_per_s: float = 0.0
    ingest_s: float = 0.0
    first_commit_after_s: float = 0.0
    steady_per_s: float = 0.0
    peak_rss_mib: dict[str, float] = dataclasses.field(default_factory=dict)
    cpu_s: dict[str, float] = dataclasses.field(default_factory=dict)
    verify_per_s: float = 0.0
    verify_entries: int = 0
    verify_result: str = ""
    replay_per_s: float = 0.0
    replay_rebuild_per_s: float = 0.0
    replay_messages: int = 0
    replay_result: str = ""
    alert_latency_ms: list[float] = dataclasses.field(default_factory=list)
    alert_fired_ms: list[float] = dataclasses.field(default_factory=list)
    spikes_sent: int = 0
    spikes_missing: int = 0
    load_target_per_s: float = 0.0
    load_achieved_per_s: float = 0.0
    lag_at_load_end: dict[str, int] = dataclasses.field(
        default_factory=dict
    )  # when the load stopped
    drain_s: float = 0.0  # and how long it then took to catch up


# --- events --------------------------------------------------------------------------------------


def spike_recipient(k: int) -> str:
    return f"Spike Recipient {k:02d}"


def live_start(n: int) -> datetime:
    """Event time of the live phase: after the backlog (bench/common.disclosures spaces events 7
    minutes apart from 2024-01-01) and more than 365 days after its first day, so the source is
    out of its warm-up and the spikes are today's events, not late ones."""
    after_backlog = datetime(2024, 1, 1, 15, tzinfo=UTC) + timedelta(minutes=7 * n, days=1)
    return max(after_backlog, datetime.combine(SPIKE_DAY0, datetime.min.time(), UTC)).replace(
        hour=12, minute=0, second=0, microsecond=0
    )


def backlog(n: int, spikes: int) -> list[DisclosureRecorded]:
    """``n`` DisclosureRecorded events (bench/common.disclosures); 2 per spike recipient of them are
    that recipient's prior-year history (5 records, 100 and 200 days before the live phase)."""
    events = disclosures(n)
    live = live_start(n)
    for j in range(2 * spikes):
        k, m = divmod(j, 2)
        pos = (2 * j + 1) * n // (4 * spikes)
        at = live - timedelta(days=100 * (m + 1))
        events[pos] = dataclasses.replace(
            events[pos],
            recipient_agency=spike_recipient(k),
            occurred_at=at,
            transmitted_at=at,
            record_count=SEED_RECORDS,
            disclosure_id=f"B-seed-{k}-{m}",
        )
    return events


def live_load(n: int, count: int) -> list[DisclosureRecorded]:
    """Ordinary events of the live phase, one second of event time apart."""
    live = live_start(n)
    return [
        dataclasses.replace(
            e,
            disclosure_id=f"L-{i}",
            occurred_at=live + timedelta(seconds=i),
            transmitted_at=live + timedelta(seconds=i),
        )
        for i, e in enumerate(disclosures(count, start=live))
    ]


def spike_event(k: int, template: DisclosureRecorded, at: datetime) -> DisclosureRecorded:
    """1,000 records to a recipient whose prior year holds 10: a spike_over_prior_year."""
    return dataclasses.replace(
        template,
        event_id=str(uuid.uuid4()),
        disclosure_id=f"B-spike-{k}",
        recipient_agency=spike_recipient(k),
        occurred_at=at,
        transmitted_at=at,
        record_count=SPIKE_RECORDS,
    )


def json_line(event: DisclosureRecorded) -> str:
    fields = {
        k: v.isoformat() if isinstance(v, datetime) else v for k, v in event.to_record().items()
    }
    return json.dumps({"type": event.event_type, **fields})


# --- the ledger side -----------------------------------------------------------------------------


class LedgerBench:
    """One measured run of the ledger on a fresh topic prefix and schema."""

    def __init__(self, n: int, tag: str, args: argparse.Namespace, work: Path) -> None:
        self.n = n
        self.args = args
        self.scale = args.timeout_scale
        self.work = work
        self.ledger: Ledger = bench_ledger(tag)
        self.scratch = Topics(self.ledger.topics.prefix + "scratch.")
        self.procs: list[subprocess.Popen] = []
        self.result = LedgerRun(n)

    def budget(self, base: float, floor_rate: float, what: str, n: int | None = None) -> Deadline:
        """``base`` seconds plus the time ``n`` items take at ``floor_rate``/s, times the scale."""
        return Deadline(self.scale * (base + (self.n if n is None else n) / floor_rate), what)

    def env(self) -> dict[str, str]:
        return ledger_env(self.ledger)

    def cli(self, argv: list[str], deadline: Deadline) -> tuple[float, subprocess.CompletedProcess]:
        t0 = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "ledger", *argv],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=max(deadline.left(), 1),
            check=False,
        )
        return time.perf_counter() - t0, done

    # -- steps --
    def run(self) -> LedgerRun:
        r, n, ledger = self.result, self.n, self.ledger
        events = backlog(n, self.args.spikes)
        codec = EventCodec()
        ensure_topics(ledger.bootstrap, self.scratch, ledger.settings.partitions)

        step(
            f"ledger: raw kafka-python produce of {n:,} pre-encoded messages (acks=all, idempotent)"
        )
        encoded = [
            (codec.encode(e), e.key.encode(), [("event_type", e.event_type.encode())])
            for e in events
        ]
        raw = KafkaProducer(**client_config(ledger.bootstrap), **PRODUCER)
        t0 = time.perf_counter()
        for value, key, headers in encoded:
            raw.send(self.scratch.dlq, value=value, key=key, headers=headers)
        raw.flush(timeout=self.budget(60, 2000, "raw produce").seconds)
        r.raw_produce_per_s = n / (time.perf_counter() - t0)
        raw.close()
        del encoded

        step(f"ledger: EventProducer of {n:,} events (encode + send + acks) into a scratch topic")
        with EventProducer(ledger.bootstrap, self.scratch.disclosures) as producer:
            t0 = time.perf_counter()
            producer.send(events)
            r.producer_per_s = n / (time.perf_counter() - t0)

        step(f"ledger: `ledger emit --file` of {n:,} events (parse + validate + send)")
        path = self.work / f"{ledger.schema}.jsonl"
        with open(path, "w", encoding="utf-8") as f:
            for e in events:
                f.write(json_line(e) + "\n")
        seconds, done = self.cli(["emit", "--file", str(path)], self.budget(60, 500, "ledger emit"))
        path.unlink()
        if done.returncode != 0 or f"Sent {n} event" not in done.stdout:
            raise RuntimeError(
                f"ledger emit failed ({done.returncode}): {(done.stdout + done.stderr)[-2000:]}"
            )
        r.emit_per_s = n / seconds

        step(f"ledger: raw kafka-python consume of {n:,} messages, raw COPY of {n:,} entry rows")
        r.raw_consume_per_s = raw_consume(
            ledger.bootstrap,
            ledger.topics.disclosures,
            n,
            timeout=self.budget(60, 2000, "raw consume").seconds,
        )
        r.raw_copy_per_s = raw_copy(ledger.admin_url, ledger.schema, n)

        self.ingest()
        self.verify_and_replay()
        if self.args.spikes:
            self.alert_latency()
        return r

    def start_consumers(self) -> None:
        self.procs = consumer_processes(self.ledger, CONSUMERS, log_dir=self.work)

    def stop_consumers(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            stop_popen(p, 60)
        self.procs = []

    def offsets(self, conn: psycopg.Connection) -> dict[tuple[str, str, int], int]:
        rows = conn.execute(
            sql.SQL(
                "SELECT consumer, topic, kafka_partition, next_offset FROM {}.consumer_offsets"
            ).format(sql.Identifier(self.ledger.schema))
        ).fetchall()
        return {(c, t, p): o for c, t, p, o in rows}

    def wait_caught_up(
        self, ends: dict, deadline: Deadline
    ) -> tuple[float, tuple[float, int] | None]:
        """Polls the stored offsets every 50 ms until both consumers reach ``ends``.

        (ledger.replay.wait_for_live does the same every 0.5 s, too coarse for a clock.)
        Returns when they did (time.perf_counter()) and, for the first poll that saw a committed
        batch, its time and how many events both consumers had applied by then.
        """
        first = None
        with psycopg.connect(self.ledger.admin_url, autocommit=True) as conn:
            while True:
                stored = self.offsets(conn)
                if first is None and any(o > 0 for o in stored.values()):
                    applied = min(
                        sum(o for (c, _, _), o in stored.items() if c == name) for name in CONSUMERS
                    )
                    first = (time.perf_counter(), applied)
                behind = [
                    f"{c} {tp.topic}/{tp.partition} at {stored.get((c, tp.topic, tp.partition), 0)} of {end}"
                    for c in CONSUMERS
                    for tp, end in ends.items()
                    if end > 0 and stored.get((c, tp.topic, tp.partition), 0) < end
                ]
                if not behind:
                    return time.perf_counter(), first
                for p, name in zip(self.procs, CONSUMERS, strict=True):
                    if p.poll() is not None:
                        raise RuntimeError(
                            f"`ledger consume --only {name}` exited with {p.returncode}; see {self.work}/consume-{name}.log"
                        )
                deadline.check("; ".join(behind))
                time.sleep(0.05)

    def service_pids(self) -> dict[str, int]:
        """The local broker's and postmaster's pids (none when the services are configured)."""
        s = self.ledger.settings
        pids = {}
        if s.kafka_bootstrap is None and (pid := read_pid(s.data_dir / "kafka" / "kafka.pid")):
            pids["kafka"] = pid
        if s.database_url is None and (
            pid := read_pid(s.data_dir / "postgres" / "data" / "postmaster.pid")
        ):
            pids["postgres"] = pid
        return pids

    def ingest(self) -> None:
        r, ledger = self.result, self.ledger
        ends = log_end_offsets(ledger.bootstrap, ledger.topics.disclosures)
        assert sum(ends.values()) == self.n, (
            f"the topic holds {sum(ends.values())} messages, not {self.n}"
        )
        services_cpu0 = {k: tree_cpu_seconds(p) for k, p in self.service_pids().items()}
        step(
            f"ledger: consumers start; clock runs until their offsets reach the log end ({self.n:,})"
        )
        t0 = time.perf_counter()
        self.start_consumers()
        try:
            t_done, first = self.wait_caught_up(ends, self.budget(120, 100, "ledger ingest"))
            t_first, applied = first or (t0, 0)
            r.ingest_s = t_done - t0
            r.ingest_per_s = self.n / r.ingest_s
            r.first_commit_after_s = t_first - t0
            r.steady_per_s = (self.n - applied) / max(t_done - t_first, 1e-9)
            for p, name in zip(self.procs, CONSUMERS, strict=True):
                r.peak_rss_mib[name] = peak_rss_mib(p.pid) or 0.0
                r.cpu_s[name] = cpu_seconds(p.pid)
            for k, p in self.service_pids().items():
                r.cpu_s[k] = tree_cpu_seconds(p) - services_cpu0.get(k, 0.0)
        finally:
            self.stop_consumers()
        step(f"ledger: ingest {r.ingest_per_s:,.0f} events/s ({r.ingest_s:.1f} s)")

    def verify_and_replay(self) -> None:
        r = self.result
        step("ledger: `ledger verify --json`")
        seconds, done = self.cli(["verify", "--json"], self.budget(60, 1000, "ledger verify"))
        try:
            out = json.loads(done.stdout)
            r.verify_entries = sum(lg["entries"] for lg in out["logs"])
            r.verify_result = "ok" if out["ok"] else out["findings"][0]["kind"]
        except (ValueError, KeyError, IndexError):
            r.verify_result = f"exit {done.returncode}: {(done.stdout + done.stderr)[-300:]}"
        r.verify_per_s = r.verify_entries / seconds

        step("ledger: `ledger replay --json`")
        seconds, done = self.cli(["replay", "--json"], self.budget(60, 200, "ledger replay"))
        try:
            out = json.loads(done.stdout)
            r.replay_messages = out["messages"]
            r.replay_rebuild_per_s = out["messages"] / out["seconds"]
            r.replay_result = "equal" if out["equal"] else f"differs: {out['differences'][0]}"
        except (ValueError, KeyError, IndexError, ZeroDivisionError):
            r.replay_result = f"exit {done.returncode}: {(done.stdout + done.stderr)[-300:]}"
        r.replay_per_s = r.replay_messages / seconds
        if r.verify_result != "ok" or r.replay_result != "equal":
            step(f"WARNING: verify {r.verify_result}; replay {r.replay_result}")

    def alert_latency(self) -> None:
        """K spikes, one per ``--spike-interval`` s, under a steady load of ordinary events."""
        r, ledger, args = self.result, self.ledger, self.args
        topic = ledger.topics.disclosures
        rate = args.load_rate or max(50.0, round(r.ingest_per_s * args.load_fraction))
        lead, tail = 2.0, 2.0
        duration = lead + args.spikes * args.spike_interval + tail
        r.load_target_per_s = rate
        load_events = live_load(self.n, int(rate * duration) + 2)
        ping, load_events = load_events[0], load_events[1:]
        step(
            f"ledger: spike alert latency: consumers restart, load {rate:,.0f} events/s, "
            f"{args.spikes} spikes {args.spike_interval:g} s apart"
        )
        self.start_consumers()
        stop = threading.Event()
        load = threading.Thread(
            target=self._load, args=(topic, load_events, rate, stop, r), daemon=True
        )
        spiker = KafkaProducer(**client_config(ledger.bootstrap), **{**PRODUCER, "linger_ms": 0})
        codec = EventCodec()
        try:
            # Wait until both consumers are in their groups and fetching: one event, applied by both.
            with EventProducer(ledger.bootstrap, topic) as p:
                p.send([ping])
            self.wait_caught_up(
                log_end_offsets(ledger.bootstrap, topic),
                Deadline(120 * self.scale, "consumers restart"),
            )
            pending: dict[str, float] = {}  # event id -> append time (epoch s)
            seen: dict[str, tuple[float, float]] = {}  # event id -> (visible at, fired_at) epoch s
            t0 = time.monotonic()
            t_stop = time.perf_counter()  # set again when the load stops
            load.start()
            k = 0
            deadline = Deadline(self.scale * (duration + 60), "spike alerts")
            with connection(ledger.reader_url, ledger.schema, autocommit=True) as conn:
                while k < args.spikes or (pending.keys() - seen.keys()):
                    if k < args.spikes and time.monotonic() >= t0 + lead + k * args.spike_interval:
                        at = ping.occurred_at + timedelta(seconds=lead + k * args.spike_interval)
                        e = spike_event(k, ping, at)
                        meta = spiker.send(
                            topic,
                            value=codec.encode(e),
                            key=e.key.encode(),
                            headers=[("event_type", e.event_type.encode())],
                        ).get(timeout=30)
                        pending[e.event_id] = meta.timestamp / 1000  # LogAppendTime from the broker
                        k += 1
                    if k == args.spikes and not stop.is_set() and time.monotonic() >= t0 + duration:
                        stop.set()  # the load ends `tail` s after the last spike
                        t_stop = time.perf_counter()
                        r.lag_at_load_end = self.lag(conn)
                    waiting = list(pending.keys() - seen.keys())
                    if waiting:
                        rows = conn.execute(
                            "SELECT evidence, extract(epoch from fired_at) FROM alerts WHERE rule = %s AND evidence && %s::text[]",
                            (SPIKE_RULE, waiting),
                        ).fetchall()
                        t_seen = time.time()
                        for evidence, fired in rows:
                            for eid in set(evidence) & set(waiting):
                                seen.setdefault(eid, (t_seen, float(fired)))
                    if deadline.expired():
                        break
                    time.sleep(0.01)
                if not stop.is_set():
                    stop.set()
                    t_stop = time.perf_counter()
                    r.lag_at_load_end = self.lag(conn)
            load.join(30)
            r.spikes_sent = len(pending)
            r.spikes_missing = len(pending.keys() - seen.keys())
            r.alert_latency_ms = [(seen[e][0] - pending[e]) * 1000 for e in pending if e in seen]
            r.alert_fired_ms = [(seen[e][1] - pending[e]) * 1000 for e in pending if e in seen]
            if r.spikes_missing:
                step(
                    f"WARNING: {r.spikes_missing} of {r.spikes_sent} spike alerts did not appear in time"
                )
            t_done, _ = self.wait_caught_up(
                log_end_offsets(ledger.bootstrap, topic),
                self.budget(60, 100, "consumers after the load"),
            )
            r.drain_s = t_done - t_stop  # from the load's end until both consumers caught up
        finally:
            stop.set()
            if load.is_alive():
                load.join(30)
            spiker.close()
            self.stop_consumers()
        lat = r.alert_latency_ms
        if lat:
            step(
                f"ledger: spike alert latency p50 {percentile(lat, 50):.0f} ms, max {max(lat):.0f} ms "
                f"(load {r.load_achieved_per_s:,.0f}/s achieved; {fmt_lag(r.lag_at_load_end)} behind when it stopped)"
            )

    def lag(self, conn: psycopg.Connection) -> dict[str, int]:
        """Events in the topic that each consumer has not committed yet."""
        ends = log_end_offsets(self.ledger.bootstrap, self.ledger.topics.disclosures)
        stored = self.offsets(conn)
        return {
            c: sum(
                max(0, end - stored.get((c, tp.topic, tp.partition), 0)) for tp, end in ends.items()
            )
            for c in CONSUMERS
        }

    def _load(
        self,
        topic: str,
        events: list[DisclosureRecorded],
        rate: float,
        stop: threading.Event,
        r: LedgerRun,
    ) -> None:
        """Sends ``events`` at ``rate``/s in 100 ms slices until ``stop`` (or they run out)."""
        per_slice = max(1, round(rate / 10))
        sent = 0
        with EventProducer(self.ledger.bootstrap, topic) as producer:
            t0 = time.monotonic()
            while not stop.is_set() and sent < len(events):
                producer.send(events[sent : sent + per_slice])
                sent += per_slice
                stop.wait(max(0.0, t0 + sent / rate - time.monotonic()))
            r.load_achieved_per_s = sent / max(time.monotonic() - t0, 1e-9)

    def close(self) -> None:
        self.stop_consumers()
        with contextlib.suppress(Exception):
            # The live schema, and a replay's if one was interrupted before it dropped its own.
            with psycopg.connect(self.ledger.admin_url, autocommit=True) as conn:
                replays = [
                    row[0]
                    for row in conn.execute(
                        "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)",
                        (self.ledger.schema + "_replay_",),
                    ).fetchall()
                ]
            for schema in [self.ledger.schema, *replays]:
                drop_schema(self.ledger.admin_url, schema)
        if self.ledger.settings.kafka_bootstrap:  # a shared broker: remove this run's topics
            with contextlib.suppress(Exception):
                admin = KafkaAdminClient(**client_config(self.ledger.bootstrap))
                admin.delete_topics([*self.ledger.topics.all(), *self.scratch.all()])
                admin.close()


# --- services, the whole run, the report ---------------------------------------------------------


class LocalServices:
    """The ledger's services as bench/common.bench_ledger starts them, in a data directory of this
    run's own (a temporary one unless LEDGER_DATA_DIR is set), stopped at the end if it started them."""

    def __init__(self) -> None:
        self.temp: Path | None = None
        if not os.environ.get("LEDGER_DATA_DIR"):
            self.temp = Path(tempfile.mkdtemp(prefix="bench-vs-connect-"))
            os.chmod(self.temp, 0o755)  # noqa: S103 (postgres must reach <data_dir>/postgres)
            os.environ["LEDGER_DATA_DIR"] = str(self.temp)
        settings = Settings.from_env()
        self.configured = bool(settings.kafka_bootstrap and settings.database_url)
        state = localdev.status(settings)
        self.were_running = bool(state.get("kafka_running") or state.get("postgres_running"))
        where = (
            "configured (LEDGER_KAFKA_BOOTSTRAP, LEDGER_DATABASE_URL)"
            if self.configured
            else f"local, in {settings.data_dir}"
        )
        step(f"ledger services: {where}")

    def close(self) -> None:
        if not self.configured and not self.were_running:
            step("stopping the ledger's local services")
            localdev.down(Settings.from_env())
        if self.temp is not None:
            shutil.rmtree(self.temp, ignore_errors=True)
            os.environ.pop("LEDGER_DATA_DIR", None)


def fmt_lag(lag: dict[str, int]) -> str:
    return ", ".join(f"{name} {events:,}" for name, events in lag.items()) or "n/a"


def fmt_rate(value: float | None, unit: str) -> str:
    return "n/a" if value is None else f"{value:,.0f} {unit}"


def fmt_runs(values: list[float]) -> str:
    return "" if len(values) < 2 else "  (runs: " + ", ".join(f"{v:,.0f}" for v in values) + ")"


def ratio(a: float | None, b: float | None) -> str:
    return "n/a" if not a or not b else f"{a / b:.2f}x"


def summarise(n: int, runs: list[LedgerRun], peers: list[PeerRun]) -> dict[str, Any]:
    def med(attr: str, items: list[Any] = runs) -> float | None:
        values = [getattr(x, attr) for x in items if getattr(x, attr) is not None]
        return median(values) if values else None

    m: dict[str, Any] = {
        k: med(k)
        for k in (
            "raw_produce_per_s",
            "producer_per_s",
            "emit_per_s",
            "raw_consume_per_s",
            "raw_copy_per_s",
            "ingest_per_s",
            "ingest_s",
            "first_commit_after_s",
            "steady_per_s",
            "verify_per_s",
            "replay_per_s",
            "replay_rebuild_per_s",
        )
    }
    m["connect_per_s"] = med("rows_per_s", peers) if peers else None
    for k in (
        "steady_rows_per_s",
        "worker_start_s",
        "first_row_after_s",
        "raw_consume_per_s",
        "raw_copy_per_s",
        "produce_per_s",
        "connect_peak_rss_mib",
    ):
        m[f"connect_{k}"] = med(k, peers) if peers else None
    m["latency_ms"] = [x for r in runs for x in r.alert_latency_ms]
    m["fired_ms"] = [x for r in runs for x in r.alert_fired_ms]
    m["n"] = n
    return m


def print_report(n: int, runs: list[LedgerRun], peers: list[PeerRun], m: dict[str, Any]) -> None:
    def series(attr: str, items: list[Any] = runs) -> str:
        return fmt_runs([getattr(x, attr) for x in items])

    rss = {k: median([r.peak_rss_mib.get(k, 0.0) for r in runs]) for k in CONSUMERS}
    cpu = {k: median([r.cpu_s.get(k, 0.0) for r in runs]) for k in runs[0].cpu_s}
    lat, fired = m["latency_ms"], m["fired_ms"]
    sent = sum(r.spikes_sent for r in runs)
    missing = sum(r.spikes_missing for r in runs)
    loads = ", ".join(f"{r.load_achieved_per_s:,.0f}" for r in runs)
    # Latency that grows from the first spikes to the last means the load was not sustainable.
    early = [x for r in runs for x in r.alert_latency_ms[: max(1, len(r.alert_latency_ms) // 4)]]
    late = [x for r in runs for x in r.alert_latency_ms[-max(1, len(r.alert_latency_ms) // 4) :]]
    rows = [
        (
            "raw kafka-python produce (pre-encoded, acks=all, idempotent)",
            fmt_rate(m["raw_produce_per_s"], "msg/s") + series("raw_produce_per_s"),
        ),
        (
            "raw kafka-python consume (assign+seek, no processing)",
            fmt_rate(m["raw_consume_per_s"], "msg/s") + series("raw_consume_per_s"),
        ),
        (
            "raw psycopg COPY of entry-shaped rows",
            fmt_rate(m["raw_copy_per_s"], "rows/s") + series("raw_copy_per_s"),
        ),
        (
            "`ledger emit --file` (parse + validate + encode + send)",
            fmt_rate(m["emit_per_s"], "events/s") + series("emit_per_s"),
        ),
        (
            "EventProducer (encode + send + acks)",
            fmt_rate(m["producer_per_s"], "events/s") + series("producer_per_s"),
        ),
        (
            "LEDGER ingest (consumers' start -> all offsets committed)",
            fmt_rate(m["ingest_per_s"], "events/s") + series("ingest_per_s"),
        ),
        (
            "  first commit after / steady after it",
            f"{m['first_commit_after_s']:.2f} s / {m['steady_per_s']:,.0f} events/s",
        ),
        ("  consumer peak RSS (VmHWM)", ", ".join(f"{k} {v:,.0f} MiB" for k, v in rss.items())),
        (
            "  cpu-s during ingest",
            ", ".join(f"{k} {v:.1f}" for k, v in cpu.items()) + f" in {m['ingest_s']:.1f} s wall",
        ),
        (
            "CONNECT + Debezium JDBC sink (RUNNING -> all rows in)",
            fmt_rate(m["connect_per_s"], "rows/s") + series("rows_per_s", peers),
        ),
    ]
    if peers:
        rows += [
            (
                "  worker start (not counted) / first row after / steady",
                f"{m['connect_worker_start_s']:.1f} s / {m['connect_first_row_after_s']:.2f} s / {m['connect_steady_rows_per_s']:,.0f} rows/s",
            ),
            (
                "  Connect JVM peak RSS; peer's own raw consume / COPY",
                f"{m['connect_connect_peak_rss_mib']:,.0f} MiB; {m['connect_raw_consume_per_s'] or 0:,.0f} msg/s / {m['connect_raw_copy_per_s'] or 0:,.0f} rows/s",
            ),
            (
                "  cpu-s during the sink (median run)",
                ", ".join(f"{k} {median([p.cpu_s[k] for p in peers]):.1f}" for k in peers[0].cpu_s)
                + f" in {median([p.window_s for p in peers]):.1f} s wall",
            ),
        ]
    rows += [
        (
            "`ledger verify` (command wall time)",
            fmt_rate(m["verify_per_s"], "entries/s")
            + series("verify_per_s")
            + f"  [{', '.join(r.verify_result for r in runs)}]",
        ),
        (
            "`ledger replay` (command wall time)",
            fmt_rate(m["replay_per_s"], "events/s")
            + series("replay_per_s")
            + f"  [{', '.join(r.replay_result for r in runs)}]",
        ),
        (
            "  replay's own rebuild rate (excl. start-up, compare)",
            fmt_rate(m["replay_rebuild_per_s"], "events/s"),
        ),
    ]
    if sent:
        rows += [
            (
                "spike alert latency, append -> alert visible",
                f"p50 {percentile(lat, 50):,.0f} ms, p99 {percentile(lat, 99):,.0f} ms over {len(lat)} spikes"
                if lat
                else "none seen",
            ),
            (
                "  append -> alert's fired_at (transaction start)",
                f"p50 {percentile(fired, 50):,.0f} ms, p99 {percentile(fired, 99):,.0f} ms"
                if fired
                else "n/a",
            ),
            (
                "  first / last quarter of the spikes (p50)",
                f"{percentile(early, 50):,.0f} ms / {percentile(late, 50):,.0f} ms"
                if early and late
                else "n/a",
            ),
            (
                "  under a steady load of",
                f"{loads} events/s" + (f"; {missing} of {sent} alerts MISSING" if missing else ""),
            ),
            (
                "  behind when the load stopped; caught up within",
                "; ".join(f"{fmt_lag(r.lag_at_load_end)}; {r.drain_s:.1f} s" for r in runs),
            ),
        ]
    report(
        f"Disclosure Ledger vs Kafka Connect JDBC sink, N={n:,}, median of {len(runs)} run(s)", rows
    )
    report(
        "Ratios (of the medians)",
        [
            ("ledger ingest / Connect JDBC sink", ratio(m["ingest_per_s"], m["connect_per_s"])),
            ("ledger ingest / raw consume", ratio(m["ingest_per_s"], m["raw_consume_per_s"])),
            ("replay / ingest", ratio(m["replay_per_s"], m["ingest_per_s"])),
            ("verify / raw consume", ratio(m["verify_per_s"], m["raw_consume_per_s"])),
            ("emit / raw produce", ratio(m["emit_per_s"], m["raw_produce_per_s"])),
            ("EventProducer / raw produce", ratio(m["producer_per_s"], m["raw_produce_per_s"])),
        ],
    )
    sys.stdout.flush()


def print_flatness(summaries: list[dict[str, Any]]) -> None:
    keys = [
        ("ingest_per_s", "ledger ingest"),
        ("connect_per_s", "Connect JDBC sink"),
        ("verify_per_s", "ledger verify"),
        ("replay_per_s", "ledger replay"),
        ("emit_per_s", "ledger emit"),
        ("raw_consume_per_s", "raw consume"),
        ("raw_copy_per_s", "raw COPY"),
    ]
    first, last = summaries[0], summaries[-1]
    rows = []
    for key, label in keys:
        rates = " -> ".join(f"{s[key] or 0:,.0f}/s at {s['n']:,}" for s in summaries)
        rows.append(
            (label, f"{rates}  ({ratio(last[key], first[key])} of the smallest size's rate)")
        )
    report("Flatness: rate at each size", rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m bench.vs_connect", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument(
        "n",
        nargs="?",
        type=int,
        default=200_000,
        help="events / rows per measurement (default 200000)",
    )
    ap.add_argument(
        "--runs",
        type=int,
        default=3,
        help="measurements of the ledger and of Connect; medians are reported (default 3)",
    )
    ap.add_argument("--skip-connect", action="store_true", help="do not run the Kafka Connect peer")
    ap.add_argument(
        "--sizes",
        help="comma-separated sizes (e.g. 200000,2000000): the whole run at each, plus a flatness table",
    )
    ap.add_argument(
        "--spikes",
        type=int,
        default=20,
        help="spike events for the alert latency, per run (default 20; 0 skips it)",
    )
    ap.add_argument(
        "--spike-interval", type=float, default=1.0, help="seconds between spike events (default 1)"
    )
    ap.add_argument(
        "--load-fraction",
        type=float,
        default=0.5,
        help="steady load during the spikes, as a fraction of the run's ingest rate (default 0.5)",
    )
    ap.add_argument(
        "--load-rate",
        type=float,
        help="steady load during the spikes in events/s (overrides --load-fraction)",
    )
    ap.add_argument(
        "--timeout-scale",
        type=float,
        default=1.0,
        help="multiply every step's time budget (default 1)",
    )
    ap.add_argument(
        "--json-out", type=Path, help="also write every run's figures to this JSON file"
    )
    args = ap.parse_args(argv)
    args.sizes = (
        [int(x.replace("_", "")) for x in args.sizes.split(",")] if args.sizes else [args.n]
    )
    if min(args.sizes) < 1000 or args.runs < 1 or args.spikes < 0:
        ap.error("sizes must be at least 1000, --runs at least 1, --spikes not negative")
    return args


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    started = time.perf_counter()
    summaries: list[dict[str, Any]] = []
    everything: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}, "sizes": []}
    with contextlib.ExitStack() as stack:
        try:
            work = Path(tempfile.mkdtemp(prefix="bench-vs-connect-work-"))
            stack.callback(shutil.rmtree, work, True)
            stack.callback(
                lambda: step(f"cleaned up; {time.perf_counter() - started:.0f} s in all")
            )
            svc = LocalServices()
            stack.callback(svc.close)
            peer = None
            if not args.skip_connect:
                peer = ConnectPeer(timeout_scale=args.timeout_scale)
                stack.callback(peer.close)
                peer.start()
            for si, n in enumerate(args.sizes):
                runs: list[LedgerRun] = []
                peers: list[PeerRun] = []
                for r in range(args.runs):
                    step(f"=== N={n:,}, run {r + 1} of {args.runs} ===")
                    bench = LedgerBench(n, f"vsc{si}r{r}", args, work)
                    try:
                        runs.append(bench.run())
                    finally:
                        bench.close()
                    if peer is not None:
                        peers.append(peer.run(n))
                        step(f"connect peer: {peers[-1].rows_per_s:,.0f} rows/s")
                m = summarise(n, runs, peers)
                summaries.append(m)
                everything["sizes"].append(
                    {
                        "n": n,
                        "median": m,
                        "ledger_runs": [dataclasses.asdict(x) for x in runs],
                        "connect_runs": [dataclasses.asdict(x) for x in peers],
                    }
                )
                print_report(n, runs, peers, m)
            if len(summaries) > 1:
                print_flatness(summaries)
            if args.json_out:
                args.json_out.write_text(json.dumps(everything, indent=2, default=str))
        except KeyboardInterrupt:
            step("interrupted; stopping everything this run started")
            return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
