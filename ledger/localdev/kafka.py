"""A local single-node Apache Kafka (KRaft, combined broker+controller) from pinned Maven jars."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from ledger.errors import ServiceError
from ledger.localdev.ports import port_open
from ledger.localdev.process import alive, read_pid, stop_pid, tail

POM = Path(__file__).with_name("pom.xml")
LOG4J2 = """status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka.server.KafkaRaftServer
logger.kafka.level = INFO
"""


def kafka_version() -> str:
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", POM.read_text())
    if not match:
        raise ServiceError(f"{POM} does not pin kafka.version.")
    return match.group(1)


def cache_dir() -> Path:
    # Outside the repository: the jars stay in ~/.m2, the resolved classpath here.
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "disclosure-ledger"


def _require(tool: str, hint: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ServiceError(f"`{tool}` was not found on PATH. {hint}")
    return path


def classpath() -> str:
    """The broker's classpath, resolved once by Maven (strict checksums) and cached."""
    cached = cache_dir() / f"kafka-{kafka_version()}.classpath"
    if cached.exists():
        cp = cached.read_text().strip()
        if cp and all(Path(j).exists() for j in cp.split(os.pathsep)):
            return cp
    mvn = _require(
        "mvn", "Install Maven (Debian: apt-get install maven) or run scripts/bootstrap.sh."
    )
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    result = subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "-C",
            "-f",
            str(POM),
            "dependency:build-classpath",
            f"-Dmdep.outputFile={tmp}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not tmp.exists():
        raise ServiceError(
            "Maven could not resolve the pinned Kafka jars from Maven Central:\n"
            + (result.stdout + result.stderr)[-2000:]
        )
    tmp.replace(cached)
    return cached.read_text().strip()


def _java() -> str:
    java = _require("java", "Install Java 17+ (Debian: apt-get install openjdk-17-jre-headless).")
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)', out)
    if match and int(match.group(1)) < 17:
        raise ServiceError(
            f"Kafka {kafka_version()} needs Java 17 or newer; found: {out.splitlines()[0]}"
        )
    return java


def server_properties(home: Path, broker_port: int, controller_port: int) -> str:
    return f"""# Written by `ledger up`: a single combined broker+controller on loopback.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{broker_port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{broker_port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={home / "logs"}
num.partitions=3
auto.create.topics.enable=false
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
"""


class LocalKafka:
    """Files under ``<data_dir>/kafka``: server.properties, logs/, server.log, kafka.pid."""

    def __init__(self, data_dir: Path, broker_port: int, controller_port: int) -> None:
        self.home = data_dir / "kafka"
        self.broker_port = broker_port
        self.controller_port = controller_port
        self.pid_file = self.home / "kafka.pid"
        self.log_file = self.home / "server.log"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.broker_port}"

    def running(self) -> bool:
        return alive(read_pid(self.pid_file))

    def start(self, timeout: float = 90) -> None:
        if self.running():
            self.wait_ready(timeout)
            return
        java, cp = _java(), classpath()
        self.home.mkdir(parents=True, exist_ok=True)
        props = self.home / "server.properties"
        props.write_text(server_properties(self.home, self.broker_port, self.controller_port))
        (self.home / "log4j2.properties").write_text(LOG4J2)
        log4j = f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}"
        if not (self.home / "logs" / "meta.properties").exists():
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            fmt = subprocess.run(
                [
                    java,
                    log4j,
                    "-cp",
                    cp,
                    "kafka.tools.StorageTool",
                    "format",
                    "--standalone",
                    f"--cluster-id={cluster_id}",
                    "-c",
                    str(props),
                ],  # ids may start with '-'
                capture_output=True,
                text=True,
                check=False,
            )
            if fmt.returncode != 0:
                raise ServiceError(
                    f"Formatting the Kafka storage failed:\n{fmt.stdout}{fmt.stderr}"
                )
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(
                [
                    java,
                    "-Xms256m",
                    "-Xmx768m",
                    "-XX:+UseG1GC",
                    "-Djava.awt.headless=true",
                    log4j,
                    "-cp",
                    cp,
                    "kafka.Kafka",
                    str(props),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # outlives `ledger up`
            )
        self.pid_file.write_text(f"{proc.pid}\n")
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        from kafka.admin import KafkaAdminClient
        from kafka.errors import KafkaError

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise ServiceError(
                    f"Kafka exited during start-up. Log tail:\n{tail(self.log_file)}"
                )
            if port_open(self.broker_port):
                try:
                    admin = KafkaAdminClient(
                        bootstrap_servers=self.bootstrap, request_timeout_ms=5000
                    )
                    try:
                        admin.describe_cluster()
                        return
                    finally:
                        admin.close()
                except KafkaError:
                    pass
            time.sleep(0.25)
        raise ServiceError(
            f"Kafka did not become ready in {timeout:.0f} s. Log tail:\n{tail(self.log_file)}"
        )

    def stop(self) -> None:
        pid = read_pid(self.pid_file)
        if pid:
            stop_pid(pid, timeout=30)
        self.pid_file.unlink(missing_ok=True)
