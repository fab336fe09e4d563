"""The do-it-yourself peer: Kafka Connect 4.1.1 standalone + Debezium's JDBC sink 3.5.0.

Adapted from the peer's published harness (run.sh and bench.py): same pinned jars (pom.xml is
an identical copy), same worker, broker and sink settings, same records, same DDL, same way of
timing the sink (from connector + tasks RUNNING until every row is in the table, every row
checked). What changed: every port is a free one chosen at start (no fixed 19092/55433), the
broker and PostgreSQL are started once and reused by every measured run (each run gets a fresh
topic, table, connector name and Connect worker), the current interpreter's kafka-python and
psycopg are used instead of a throwaway venv, and everything it started is stopped by pid.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import Deadline, peak_rss_mib, step, stop_popen, tree_cpu_seconds
from ledger.localdev.kafka import cache_dir
from ledger.localdev.ports import free_port, port_open
from ledger.localdev.postgres import bindir

HERE = Path(__file__).resolve().parent
TASKS, BATCH, JDBC_OPTS = 2, 5000, "?reWriteBatchedInserts=true"  # run.sh's defaults

# --- as in the peer's bench.py -----------------------------------------------------------------
FIELDS = [
    ("event_id", "string"),
    ("occurred_at", "string"),
    ("source_agency", "string"),
    ("recipient_agency", "string"),
    ("legal_authority", "string"),
    ("purpose", "string"),
    ("nature", "string"),
    ("transmitted_at", "int64"),
    ("record_count", "int64"),
    ("tax_periods", "string"),
    ("data_categories", "string"),
    ("match_method", "string"),
    ("address_verification", "string"),
]
SCHEMA = json.dumps(
    {
        "type": "struct",
        "name": "disclosure",
        "optional": False,
        "fields": [{"field": f, "type": t, "optional": False} for f, t in FIELDS],
    }
)
# Same DDL for the sink's table and the COPY baseline; landed_at stamps each row as it lands.
DDL = (
    "create table {} ("
    + ", ".join(f"{f} {'bigint' if t == 'int64' else 'text'}" for f, t in FIELDS)
    + ", landed_at timestamptz not null default clock_timestamp())"
)
RECIPIENTS = ["ICE", "DOJ", "SSA", "HHS", "DHS-USCIS", "state-CA", "state-NY", "GAO"]


def record(i: int) -> dict:
    t = 1_757_000_000_000 + i * 250
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t // 1000)),
        "source_agency": "IRS",
        "recipient_agency": RECIPIENTS[i % len(RECIPIENTS)],
        "legal_authority": "26 U.S.C. 6103(i)(2)",
        "purpose": "non-tax criminal investigation",
        "nature": "last known address",
        "transmitted_at": t,
        "record_count": 1 + i % 500,
        "tax_periods": "2022,2023",
        "data_categories": "name,address,tin",
        "match_method": "tin+name",
        "address_verification": "verified" if i % 7 else "placeholder",
    }


def expected_record_sum(n: int) -> int:
    return sum(1 + i % 500 for i in range(n))


# -------------------------------------------------------------------------------------------------


@dataclass
class PeerRun:
    n: int
    rows_per_s: float  # the figure: N / (last row landed - connector RUNNING)
    steady_rows_per_s: float  # N / (last row - first row)
    worker_start_s: float  # JVM launch to connector + tasks RUNNING (not in the figure)
    first_row_after_s: float
    produce_per_s: float  # JSON-with-schema records into the peer's topic (not in the figure)
    raw_consume_per_s: float | None  # the peer's own baselines on its own broker / PostgreSQL
    raw_copy_per_s: float | None
    cpu_s: dict[str, float] = field(default_factory=dict)  # during the sink window
    window_s: float = 0.0
    connect_peak_rss_mib: float | None = None


class ConnectPeer:
    """A throwaway KRaft broker and PostgreSQL on free ports; one Connect worker per ``run``."""

    def __init__(self, timeout_scale: float = 1.0, baselines: bool = True) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-connect-"))
        os.chmod(self.tmp, 0o755)  # noqa: S103 (the postgres user must reach tmp/pg)
        self.timeout_scale = timeout_scale
        self.baselines = baselines
        self.classpath = ""
        self.broker: subprocess.Popen | None = None
        self.connect: subprocess.Popen | None = None
        self.pg_started = False
        self.ports = {k: free_port() for k in ("broker", "controller", "rest", "pg")}
        self.runs = 0

    # --- services --------------------------------------------------------------------------------
    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.ports['broker']}"

    @property
    def db(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.ports['pg']}/postgres"

    def _fill(self, name: str, target: Path, **values: str) -> Path:
        text = (HERE / name).read_text()
        for key, value in values.items():
            text = text.replace(f"@{key}@", value)
        target.write_text(text)
        return target

    def _resolve_classpath(self) -> str:
        """``mvn dependency:build-classpath`` of the pinned pom (cached beside the ledger's own)."""
        cached = cache_dir() / "peer-connect.classpath"
        pom = (HERE / "pom.xml").read_bytes()
        stamp = cache_dir() / "peer-connect.pom"
        if cached.exists() and stamp.exists() and stamp.read_bytes() == pom:
            cp = cached.read_text().strip()
            if cp and all(Path(j).exists() for j in cp.split(os.pathsep)):
                return cp
        step("connect peer: resolving the pinned jars with Maven")
        out = self.tmp / "cp.txt"
        result = subprocess.run(
            [
                "mvn",
                "-q",
                "-B",
                "-f",
                str(HERE / "pom.xml"),
                "dependency:build-classpath",
                f"-Dmdep.outputFile={out}",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if result.returncode != 0 or not out.exists():
            raise RuntimeError("Maven failed:\n" + (result.stdout + result.stderr)[-3000:])
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_text(out.read_text())
        stamp.write_bytes(pom)
        return out.read_text().strip()

    def start(self) -> None:
        self.classpath = self._resolve_classpath()
        pg = self.tmp / "pg"
        step(f"connect peer: PostgreSQL on {self.ports['pg']}")
        pg.mkdir()
        if os.geteuid() == 0:  # initdb refuses root: it runs as the postgres user
            shutil.chown(pg, "postgres")
        bins = bindir()
        as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(
            [*as_pg, str(bins / "initdb"), "-D", str(pg), "-A", "trust", "-U", "postgres"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.pg_started = True
        subprocess.run(
            [
                *as_pg,
                str(bins / "pg_ctl"),
                "-D",
                str(pg),
                "-l",
                str(pg / "log"),
                "-w",
                "-t",
                "60",
                "start",
                "-o",
                f"-p {self.ports['pg']} -c listen_addresses=127.0.0.1 -k {pg}",
            ],
            check=True,
            capture_output=True,
            timeout=90,
        )

        step(f"connect peer: Kafka broker on {self.ports['broker']}")
        props = self._fill(
            "broker.properties",
            self.tmp / "broker.properties",
            T=str(self.tmp),
            BROKER_PORT=str(self.ports["broker"]),
            CONTROLLER_PORT=str(self.ports["controller"]),
        )
        cluster = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        subprocess.run(
            [
                "java",
                "-cp",
                self.classpath,
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "-c",
                str(props),
                f"--cluster-id={cluster}",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        with open(self.tmp / "broker.log", "wb") as log:
            self.broker = subprocess.Popen(
                [
                    "java",
                    "-Xms1g",
                    "-Xmx1g",
                    "-Dlog4j2.level=WARN",
                    "-cp",
                    self.classpath,
                    "kafka.Kafka",
                    str(props),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = Deadline(120, "the peer's Kafka broker start")
        while not port_open(self.ports["broker"]):
            if self.broker.poll() is not None:
                raise RuntimeError("the peer's broker exited:\n" + self._tail("broker.log"))
            deadline.check(self._tail("broker.log"))
            time.sleep(0.25)

    def _tail(self, name: str, lines: int = 20) -> str:
        try:
            text = (self.tmp / name).read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join([ln for ln in text if not ln.lstrip().startswith("at ")][-lines:])

    def pg_pid(self) -> int:
        return int((self.tmp / "pg" / "postmaster.pid").read_text().split()[0])

    def close(self) -> None:
        """Stops the worker, the broker and PostgreSQL, newest first; removes the temp dir."""
        if self.connect is not None:
            stop_popen(self.connect, 30, group=True)
        if self.broker is not None:
            stop_popen(self.broker, 30, group=True)
        if self.pg_started and (self.tmp / "pg" / "postmaster.pid").exists():
            as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
            subprocess.run(
                [
                    *as_pg,
                    str(bindir() / "pg_ctl"),
                    "-D",
                    str(self.tmp / "pg"),
                    "-m",
                    "fast",
                    "-t",
                    "30",
                    "stop",
                ],
                capture_output=True,
                timeout=60,
                check=False,
            )
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- one measured run ------------------------------------------------------------------------
    def run(self, n: int) -> PeerRun:
        import psycopg
        from kafka import KafkaProducer
        from kafka.admin import KafkaAdminClient, NewTopic

        self.runs += 1
        k = self.runs
        topic, table, name = (
            f"peer.disclosures.r{k}",
            f"peer_disclosures_r{k}",
            f"peer-jdbc-sink-r{k}",
        )
        run_dir = self.tmp / f"run{k}"
        run_dir.mkdir()
        scale = self.timeout_scale

        step(f"connect peer run {k}: produce {n:,} JSON-with-schema records to {topic}")
        deadline = Deadline(60, "creating the peer's topic")
        while True:
            try:
                admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=10000)
                admin.create_topics([NewTopic(topic, 3, 1)])
                admin.close()
                break
            except Exception as exc:  # the broker may still be electing its controller
                deadline.check(str(exc))
                time.sleep(0.5)
        p = KafkaProducer(
            bootstrap_servers=self.bootstrap, acks="all", linger_ms=10, batch_size=1 << 20
        )
        t = time.perf_counter()
        for i in range(n):
            r = record(i)
            v = ('{"schema":' + SCHEMA + ',"payload":' + json.dumps(r) + "}").encode()
            p.send(topic, key=r["event_id"].encode(), value=v, partition=i % 3)
        p.flush(timeout=120 * scale)
        produce_rate = n / (time.perf_counter() - t)
        p.close()

        raw_consume = raw_copy = None
        with psycopg.connect(self.db) as conn:
            conn.execute(DDL.format(table))  # the sink's table, schema.evolution=none
            conn.commit()
        if self.baselines:
            step(f"connect peer run {k}: the peer's own raw baselines (consume, COPY)")
            raw_consume = self._raw_consume(topic, n, Deadline(300 * scale, "peer raw consume"))
            raw_copy = self._raw_copy(n, f"copy_baseline_r{k}")

        step(
            f"connect peer run {k}: Connect standalone, Debezium JDBC sink, tasks.max={TASKS} batch.size={BATCH}"
        )
        worker = self._fill(
            "worker.properties",
            run_dir / "worker.properties",
            T=str(run_dir),
            BROKER_PORT=str(self.ports["broker"]),
            REST_PORT=str(self.ports["rest"]),
        )
        sink = self._fill(
            "jdbc-sink.properties",
            run_dir / "jdbc-sink.properties",
            TASKS=str(TASKS),
            BATCH=str(BATCH),
            JDBC_OPTS=JDBC_OPTS,
            PG_PORT=str(self.ports["pg"]),
            NAME=name,
            TOPIC=topic,
            TABLE=table,
        )
        t_launch = time.time()
        with open(self.tmp / "connect.log", "ab") as log:
            self.connect = subprocess.Popen(
                [
                    "java",
                    "-Xms1g",
                    "-Xmx1g",
                    "-Dlog4j2.level=WARN",
                    "-cp",
                    self.classpath,
                    "org.apache.kafka.connect.cli.ConnectStandalone",
                    str(worker),
                    str(sink),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            return self._time_sink(
                n, name, table, t_launch, produce_rate, raw_consume, raw_copy, scale
            )
        finally:
            stop_popen(self.connect, 30, group=True)
            self.connect = None
            with psycopg.connect(self.db, autocommit=True) as conn:
                conn.execute(f"drop table if exists {table}")
            try:
                admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
                admin.delete_topics([topic])
                admin.close()
            except Exception as exc:  # only disk space is at stake
                step(f"connect peer run {k}: could not delete {topic}: {exc}")

    def _time_sink(
        self,
        n: int,
        name: str,
        table: str,
        t_launch: float,
        produce_rate: float,
        raw_consume: float | None,
        raw_copy: float | None,
        scale: float,
    ) -> PeerRun:
        import psycopg

        assert self.connect is not None
        url = f"http://127.0.0.1:{self.ports['rest']}/connectors/{name}/status"
        deadline = Deadline(120 * scale, "Connect worker + connector start")
        st: dict = {}
        while True:  # connector and all its tasks RUNNING = "connector started"
            try:
                st = json.load(urllib.request.urlopen(url, timeout=2))
                states = [st["connector"]["state"]] + [t["state"] for t in st["tasks"]]
                if "FAILED" in states:
                    raise RuntimeError(f"connector failed: {json.dumps(st)[:2000]}")
                if st["tasks"] and set(states) == {"RUNNING"}:
                    break
            except OSError:
                pass
            if self.connect.poll() is not None:
                raise RuntimeError("Connect exited:\n" + self._tail("connect.log"))
            deadline.check(self._tail("connect.log"))
            time.sleep(0.05)
        roots = {
            "broker": self.broker.pid if self.broker else 0,
            "connect": self.connect.pid,
            "postgres": self.pg_pid(),
        }
        t_run, cpu0 = time.time(), {k: tree_cpu_seconds(p) for k, p in roots.items()}
        step(
            f"connect peer: connector + {len(st['tasks'])} tasks RUNNING {t_run - t_launch:.1f} s after JVM launch; sinking"
        )
        got = 0
        deadline = Deadline(max(540, n / 200) * scale, f"the sink landing {n:,} rows")
        with psycopg.connect(self.db, autocommit=True) as conn:
            conn.execute("set max_parallel_workers_per_gather = 0")
            while got < n:
                if self.connect.poll() is not None:
                    raise RuntimeError("Connect exited:\n" + self._tail("connect.log"))
                deadline.check(f"{got:,} rows so far")
                time.sleep(0.5)
                got = conn.execute(f"select count(*) from {table}").fetchone()[0]
            t_seen = time.time()
            cpu1 = {k: tree_cpu_seconds(p) for k, p in roots.items()}
            rss = peak_rss_mib(self.connect.pid)
            first, last, rows, ids, total = conn.execute(
                f"select extract(epoch from min(landed_at)), extract(epoch from max(landed_at)), "
                f"count(*), count(distinct event_id), sum(record_count) from {table}"
            ).fetchone()
        if (rows, ids, total) != (n, n, expected_record_sum(n)):
            raise RuntimeError(
                f"sink landed {rows} rows, {ids} distinct events, record_count sum {total}"
            )
        first, last = float(first), float(last)
        return PeerRun(
            n=n,
            rows_per_s=n / (last - t_run),
            steady_rows_per_s=n / max(last - first, 1e-9),
            worker_start_s=t_run - t_launch,
            first_row_after_s=first - t_run,
            produce_per_s=produce_rate,
            raw_consume_per_s=raw_consume,
            raw_copy_per_s=raw_copy,
            cpu_s={k: cpu1[k] - cpu0[k] for k in roots},
            window_s=t_seen - t_run,
            connect_peak_rss_mib=rss,
        )

    def _raw_consume(self, topic: str, n: int, deadline: Deadline) -> float:
        from kafka import KafkaConsumer, TopicPartition

        c = KafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            max_poll_records=5000,
            fetch_max_bytes=50 << 20,
            max_partition_fetch_bytes=16 << 20,
        )
        c.assign([TopicPartition(topic, p) for p in range(3)])
        c.seek_to_beginning()
        t, got = time.perf_counter(), 0
        try:
            while got < n:
                deadline.check(f"{got:,} of {n:,}")
                got += sum(len(ms) for ms in c.poll(timeout_ms=1000).values())
        finally:
            c.close()
        return got / (time.perf_counter() - t)

    def _raw_copy(self, n: int, table: str) -> float:
        import psycopg

        rows = [tuple(record(i).values()) for i in range(n)]
        cols = ", ".join(f for f, _ in FIELDS)
        with psycopg.connect(self.db) as conn:
            conn.execute(DDL.format(table))
            conn.commit()
            t = time.perf_counter()
            with conn.cursor().copy(f"copy {table} ({cols}) from stdin") as cp:
                for r in rows:
                    cp.write_row(r)
            conn.commit()
            rate = n / (time.perf_counter() - t)
            conn.execute(f"drop table {table}")
            conn.commit()
        return rate
