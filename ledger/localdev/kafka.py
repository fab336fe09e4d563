"""A local single-node Apache Kafka (KRaft, combined broker+controller) from pinned Maven jars."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from ledger.errors import ServiceError
from ledger.localdev.kafka_acls import client_settings, listener_properties, passwords
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


def server_properties(
    home: Path,
    node_id: int,
    broker_port: int,
    voters: list[tuple[int, int]],
    users: dict[str, str] | None = None,
) -> str:
    """A combined broker+controller on loopback: one node alone, or one of a static quorum;
    with ``users`` (principal -> password), SASL/PLAIN and the StandardAuthorizer."""
    controller_port = dict(voters)[node_id]
    replicas = min(3, len(voters))
    min_isr = 2 if replicas >= 3 else 1
    if len(voters) == 1:
        quorum = f"controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}"
    else:
        quorum = "controller.quorum.voters=" + ",".join(
            f"{node}@127.0.0.1:{port}" for node, port in voters
        )
    listeners = (
        listener_properties(broker_port, controller_port, users)
        if users
        else f"""listeners=PLAINTEXT://127.0.0.1:{broker_port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{broker_port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
"""
    )
    return f"""# Written by `ledger up`: node {node_id} of {len(voters)}, broker and controller, on loopback.
process.roles=broker,controller
node.id={node_id}
{quorum}
{listeners}log.dirs={home / "logs"}
num.partitions=3
auto.create.topics.enable=false
default.replication.factor={replicas}
min.insync.replicas={min_isr}
offsets.topic.replication.factor={replicas}
transaction.state.log.replication.factor={replicas}
transaction.state.log.min.isr={min_isr}
share.coordinator.state.topic.replication.factor={replicas}
share.coordinator.state.topic.min.isr={min_isr}
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
"""


@dataclass(frozen=True)
class NodePorts:
    node_id: int
    broker: int
    controller: int


class LocalKafkaNode:
    """One node's files: ``<data_dir>/kafka`` (node 1) or ``<data_dir>/kafka-<id>``."""

    def __init__(
        self,
        data_dir: Path,
        ports: NodePorts,
        voters: list[tuple[int, int]],
        users: dict[str, str] | None = None,
    ) -> None:
        self.ports = ports
        self.voters = voters
        self.users = users
        self.home = data_dir / ("kafka" if ports.node_id == 1 else f"kafka-{ports.node_id}")
        self.pid_file = self.home / "kafka.pid"
        self.log_file = self.home / "server.log"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.ports.broker}"

    def pid(self) -> int | None:
        return read_pid(self.pid_file)

    def running(self) -> bool:
        return alive(self.pid())

    def formatted(self) -> bool:
        return (self.home / "logs" / "meta.properties").exists()

    def write_config(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        props = self.home / "server.properties"
        props.write_text(
            server_properties(
                self.home, self.ports.node_id, self.ports.broker, self.voters, self.users
            )
        )
        props.chmod(0o600)  # it holds the SASL passwords when ACLs are on
        (self.home / "log4j2.properties").write_text(LOG4J2)
        return props

    def log4j(self) -> str:
        return f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}"

    def format(self, java: str, cp: str, cluster_id: str) -> None:
        props = self.write_config()
        # A lone node formats as a standalone quorum; nodes of a static quorum (voters listed in
        # their config) format with the shared cluster id only. ``--cluster-id=``: ids may start
        # with '-'.
        standalone = ["--standalone"] if len(self.voters) == 1 else []
        fmt = subprocess.run(
            [
                java,
                self.log4j(),
                "-cp",
                cp,
                "kafka.tools.StorageTool",
                "format",
                *standalone,
                f"--cluster-id={cluster_id}",
                "-c",
                str(props),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if fmt.returncode != 0:
            raise ServiceError(f"Formatting the Kafka storage failed:\n{fmt.stdout}{fmt.stderr}")

    def spawn(self, java: str, cp: str) -> None:
        props = self.write_config()
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(
                [
                    java,
                    "-Xms256m",
                    "-Xmx768m",
                    "-XX:+UseG1GC",
                    "-Djava.awt.headless=true",
                    self.log4j(),
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

    def stop(self) -> None:
        pid = self.pid()
        if pid:
            stop_pid(pid, timeout=30)
        self.pid_file.unlink(missing_ok=True)


class LocalKafka:
    """One node, or a static quorum of several, every node a broker and a controller."""

    def __init__(self, data_dir: Path, nodes: list[NodePorts], acls: bool = False) -> None:
        voters = [(n.node_id, n.controller) for n in nodes]
        users = passwords(data_dir) if acls else None
        self.client = client_settings(data_dir) if acls else {}
        self.nodes = [LocalKafkaNode(data_dir, n, voters, users) for n in nodes]

    @property
    def bootstrap(self) -> str:
        return ",".join(n.address for n in self.nodes)

    def running(self) -> bool:
        """Kafka is there for clients while any node serves: the bootstrap list names them all."""
        return any(n.running() for n in self.nodes)

    def all_running(self) -> bool:
        return all(n.running() for n in self.nodes)

    def start(self, timeout: float = 90) -> None:
        if self.all_running():
            self.wait_ready(timeout)
            return
        java, cp = _java(), classpath()
        if not all(n.formatted() for n in self.nodes):
            if any(n.formatted() for n in self.nodes):
                raise ServiceError(
                    "Some Kafka nodes of this data directory are formatted and some are not; "
                    "run `ledger down` and remove the data directory to start afresh."
                )
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            for node in self.nodes:
                node.format(java, cp, cluster_id)
        # Every node first, then wait: a quorum member cannot become ready on its own.
        for node in self.nodes:
            if not node.running():
                node.spawn(java, cp)
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        from kafka.admin import KafkaAdminClient
        from kafka.errors import KafkaError

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for node in self.nodes:
                if not node.running():
                    raise ServiceError(
                        f"Kafka node {node.ports.node_id} exited during start-up. "
                        f"Log tail:\n{tail(node.log_file)}"
                    )
            if all(port_open(n.ports.broker) for n in self.nodes):
                try:
                    admin = KafkaAdminClient(
                        bootstrap_servers=self.bootstrap, request_timeout_ms=5000, **self.client
                    )
                    try:
                        if len(admin.describe_cluster().get("brokers", [])) >= len(self.nodes):
                            return
                    finally:
                        admin.close()
                except KafkaError:
                    pass
            time.sleep(0.25)
        raise ServiceError(
            f"Kafka did not become ready in {timeout:.0f} s. Log tail:\n"
            + "\n".join(tail(n.log_file) for n in self.nodes)
        )

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.stop()
