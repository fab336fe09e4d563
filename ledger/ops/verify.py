"""`ledger verify`: recompute every log from the database and compare it with Kafka.

Each kind of failure is its own finding with its own exit code, so a script can tell a
rewritten chain from altered bytes, a gap, a bad checkpoint or a database that disagrees with
the Kafka log (see docs/design.md, "Verifier findings").
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from kafka import KafkaConsumer, TopicPartition

from ledger.config import Settings
from ledger.errors import VerificationError
from ledger.exit_codes import ExitCode
from ledger.kafka.reader import log_reader
from ledger.keys import load_verifiers, origin_for, signing_key_path
from ledger.ops import workers
from ledger.store import Connection
from ledger.store import entries as store
from ledger.store.checkpoints import checkpoint_sizes, checkpoints_of
from ledger.store.claims import reused_offsets, reuses
from ledger.store.connection import connection
from ledger.store.dead_letters import dead_letter_offsets
from ledger.store.offsets import stored_offsets
from ledger.tlog import checkpoint as tlog
from ledger.tlog.chain import ChainVerifier
from ledger.tlog.merkle import CompactRange

# Exit codes per finding kind (0 = everything verified).
EXIT_CODES = {
    "gap": ExitCode.GAP,
    "content_mismatch": ExitCode.CONTENT_MISMATCH,
    "broken_linkage": ExitCode.BROKEN_LINKAGE,
    "kafka_mismatch": ExitCode.KAFKA_MISMATCH,
    "checkpoint_signature": ExitCode.CHECKPOINT_SIGNATURE,
    "checkpoint_mismatch": ExitCode.CHECKPOINT_MISMATCH,
    "unaccounted_offset": ExitCode.UNACCOUNTED_OFFSET,
    "reused_event_id": ExitCode.REUSED_EVENT_ID,
}
AUDIT_LOG = "audit_log"  # the consumer whose dead letters account for offsets of the logs
_SHOWN_OFFSETS = 10


@dataclass(frozen=True)
class Finding:
    kind: str
    log_id: str
    seq: int | None
    detail: str

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.kind]


@dataclass
class LogReport:
    log_id: str
    entries: int = 0
    kafka_checked: int = 0
    checkpoints: int = 0
    root_hash: str = ""
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


@dataclass
class VerifyReport:
    logs: list[LogReport]

    @property
    def findings(self) -> list[Finding]:
        return [f for lg in self.logs for f in lg.findings]

    @property
    def exit_code(self) -> int:
        return self.findings[0].exit_code if self.findings else 0

    def to_json(self) -> dict[str, object]:
        return {
            "ok": not self.findings,
            "exit_code": self.exit_code,
            "logs": [
                {**{k: v for k, v in asdict(lg).items() if k != "findings"}, "ok": lg.ok}
                for lg in self.logs
            ],
            "findings": [asdict(f) for f in self.findings],
        }


class _KafkaCursor:
    """Reads one partition forward, to compare stored bytes with the messages at their offsets."""

    def __init__(self, consumer: KafkaConsumer, tp: TopicPartition) -> None:
        self.consumer = consumer
        self.tp = tp
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        self.end = consumer.end_offsets([tp])[tp]
        self.buffer: dict[int, bytes] = {}
        self.position = -1

    def _advance(self, offset: int) -> None:
        while offset not in self.buffer and self.position < offset and self.position < self.end - 1:
            polled = self.consumer.poll(timeout_ms=2000, max_records=10000)
            records = polled.get(self.tp, [])
            if not records and self.consumer.position(self.tp) >= self.end:
                break
            self.buffer = {r.offset: r.value for r in records} | {
                k: v for k, v in self.buffer.items() if k >= offset
            }
            if records:
                self.position = records[-1].offset

    def value_at(self, offset: int) -> bytes | None:
        self._advance(offset)
        return self.buffer.pop(offset, None)

    def holds(self, offset: int) -> bool:
        """Whether the partition has a record at ``offset`` (a transactional writer's control
        records take offsets no consumer ever sees)."""
        self._advance(offset)
        return offset in self.buffer


def verify_log(
    conn: Connection,
    log_id: str,
    consumer: KafkaConsumer | None,
    checkpoint_check: Callable[[Connection, str, dict[int, bytes]], list[Finding]] | None,
    progress: Callable[[int], None] | None = None,
) -> LogReport:
    report = LogReport(log_id)
    chain = ChainVerifier()
    tree = CompactRange()
    roots: dict[int, bytes] = {}
    wanted_sizes = checkpoint_sizes(conn, log_id)
    cursor: _KafkaCursor | None = None
    offsets = _OffsetAccount(conn, log_id)
    for entry, topic, partition, offset in store.iter_entries(conn, log_id):
        finding = chain.feed([entry])
        if finding is not None:
            report.findings.append(Finding(finding.kind, log_id, finding.seq, finding.detail))
            offsets.complete = False
            break
        tree.append(entry.leaf_hash)
        if tree.size in wanted_sizes:
            roots[tree.size] = tree.root()
        report.entries += 1
        if consumer is not None:
            if cursor is None:
                cursor = _KafkaCursor(consumer, TopicPartition(topic, partition))
            offsets.entry_at(offset, cursor)
            kafka_value = cursor.value_at(offset)
            report.kafka_checked += 1
            if kafka_value != entry.value:
                what = (
                    "is missing from Kafka"
                    if kafka_value is None
                    else "differs from the Kafka message"
                )
                report.findings.append(
                    Finding(
                        "kafka_mismatch",
                        log_id,
                        entry.seq,
                        f"stored bytes at {topic}/{partition}@{offset} {what}",
                    )
                )
                offsets.complete = False
                break
        else:
            offsets.entry_at(offset, None)
        if progress and report.entries % 10000 == 0:
            progress(10000)
    if progress:
        progress(report.entries % 10000)
    report.root_hash = tree.root().hex()
    if checkpoint_check is not None and not report.findings:
        report.findings.extend(checkpoint_check(conn, log_id, roots))
    report.checkpoints = len(wanted_sizes)
    if offsets.complete:
        if consumer is not None and cursor is None:
            cursor = _KafkaCursor(consumer, TopicPartition(offsets.topic, offsets.partition))
        report.findings.extend(offsets.findings(cursor))
    return report


class _OffsetAccount:
    """Every offset of a log's partition, up to where the audit log has read, is an entry, a
    dead letter of the audit log or a recorded reuse of an event id; reused ids with other
    bytes are findings too, even though they were dead-lettered and alerted."""

    def __init__(self, conn: Connection, log_id: str) -> None:
        self.conn = conn
        self.log_id = log_id
        topic, _, partition = log_id.rpartition("/")
        self.topic, self.partition = topic, int(partition)
        self.others = dead_letter_offsets(conn, AUDIT_LOG, topic, self.partition) | reused_offsets(
            conn, topic, self.partition
        )
        self.expected = 0
        self.missing: list[int] = []
        self.count = 0
        self.complete = True

    def entry_at(self, offset: int, cursor: _KafkaCursor | None) -> None:
        if offset > self.expected:
            self._gap(range(self.expected, offset), cursor)
        self.expected = max(self.expected, offset + 1)

    def _gap(self, gap: range, cursor: _KafkaCursor | None) -> None:
        for o in gap:
            if o not in self.others and (cursor is None or cursor.holds(o)):
                self.count += 1
                if len(self.missing) < _SHOWN_OFFSETS:
                    self.missing.append(o)

    def findings(self, cursor: _KafkaCursor | None) -> list[Finding]:
        read = stored_offsets(self.conn, AUDIT_LOG, [(self.topic, self.partition)])
        end = read.get((self.topic, self.partition), self.expected)
        if end > self.expected:
            self._gap(range(self.expected, end), cursor)
        found = []
        if self.count:
            shown = ", ".join(str(o) for o in self.missing)
            found.append(
                Finding(
                    "unaccounted_offset",
                    self.log_id,
                    None,
                    f"{self.count} offset(s) of {self.log_id} below {end} are neither an entry,"
                    f" a dead letter nor a recorded redelivery: {shown}",
                )
            )
        for reuse in reuses(self.conn, same_bytes=False):
            if reuse.where.rpartition("@")[0] == self.log_id:
                found.append(
                    Finding(
                        "reused_event_id",
                        self.log_id,
                        None,
                        f"event id {reuse.event_id} was written again at {reuse.where} with other"
                        f" bytes than the record at {reuse.first} (dead-lettered and alerted)",
                    )
                )
        return found


def every_log(conn: Connection) -> list[str]:
    """Each log with entries, and each partition the audit log read (all of it dead letters,
    or silently skipped: its offsets are accounted for too)."""
    return sorted(set(store.log_ids(conn)) | set(store.log_ids_read(conn, AUDIT_LOG)))


def _log_reader(bootstrap: str | None) -> KafkaConsumer | None:
    """A consumer outside any group that reads partitions from their start; None: no Kafka."""
    if not bootstrap:
        return None
    return log_reader(bootstrap, client_id="ledger-verify")


def verify_all(
    conn: Connection,
    bootstrap: str | None,
    checkpoint_check: Callable[[Connection, str, dict[int, bytes]], list[Finding]] | None = None,
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    consumer = _log_reader(bootstrap)
    try:
        reports = [
            verify_log(conn, log_id, consumer, checkpoint_check, progress)
            for log_id in every_log(conn)
        ]
    finally:
        if consumer is not None:
            consumer.close()
    return VerifyReport(reports)


def checkpoint_checker(
    settings: Settings,
) -> Callable[[Connection, str, dict[int, bytes]], list[Finding]]:
    """Checks each stored checkpoint's signature and its root against the recomputed tree."""
    verifiers = load_verifiers(signing_key_path(settings))

    def check(conn: Connection, log_id: str, roots: dict[int, bytes]) -> list[Finding]:
        findings = []
        for stored in checkpoints_of(conn, log_id):
            size, note = stored.tree_size, stored.note
            try:
                cp = tlog.verify(note, verifiers, expected_origin=origin_for(settings, log_id))
            except VerificationError as exc:
                findings.append(Finding("checkpoint_signature", log_id, int(size) - 1, str(exc)))
                continue
            recomputed = roots.get(cp.size)
            if cp.size != int(size) or recomputed is None or recomputed != cp.root_hash:
                findings.append(
                    Finding(
                        "checkpoint_mismatch",
                        log_id,
                        int(size) - 1,
                        f"signed checkpoint of size {cp.size} has root {cp.root_hash.hex()} but the "
                        f"stored entries give {recomputed.hex() if recomputed else 'no tree of that size'}"
                        " (the data changed after it was signed)",
                    )
                )
        return findings

    return check


def _verify_one(
    url: str, schema: str, bootstrap: str | None, settings: Settings | None, log_id: str
) -> LogReport:
    """One log in a worker process: its own connection and Kafka consumer, nothing shared."""
    consumer = _log_reader(bootstrap)
    try:
        with connection(url, schema) as conn:
            checker = checkpoint_checker(settings) if settings is not None else None
            return verify_log(conn, log_id, consumer, checker, workers.report)
    finally:
        if consumer is not None:
            consumer.close()


def verify_ledger(
    url: str,
    schema: str,
    bootstrap: str | None,
    settings: Settings | None = None,
    progress: Callable[[int], None] | None = None,
    processes: int | None = None,
) -> VerifyReport:
    """Every log verified, one worker process per log up to the number of cores.

    Logs are independent (each has its own chain, tree and partition). With ``settings`` each
    log's checkpoints are checked with its signing keys.
    """
    with connection(url, schema) as conn:
        log_ids = every_log(conn)
    processes = min(len(log_ids), processes or os.cpu_count() or 1)
    if processes <= 1:
        with connection(url, schema) as conn:
            checker = checkpoint_checker(settings) if settings is not None else None
            return verify_all(conn, bootstrap, checker, progress)
    calls = [(url, schema, bootstrap, settings, log_id) for log_id in log_ids]
    return VerifyReport(workers.in_processes(_verify_one, calls, processes, progress))
