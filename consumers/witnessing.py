"""Asks the configured witnesses (LEDGER_WITNESSES) to cosign each log's latest checkpoint.

Runs beside the audit-log consumer in a thread of its own with its own autocommit connection: a
checkpoint is witnessed only after its transaction committed, an HTTP call never runs inside an
offset transaction, and a witness that is down or refuses is logged and asked again next round
while ingest goes on. Cosignatures are verified against the witness's key before they are stored.
"""

from __future__ import annotations

import logging
import threading

from ledger.errors import LedgerError
from ledger.store import Connection, connect
from ledger.store.checkpoints import StoredCheckpoint, latest_per_log
from ledger.store.connection import driver_errors
from ledger.store.cosignatures import cosigned_by, insert_cosignature, latest_cosigned_size
from ledger.store.entries import fetch_nodes
from ledger.tlog import merkle
from ledger.tlog.cosignature import Cosignature, split_note
from ledger.tlog.witness_protocol import AddCheckpoint, parse_size_body
from ledger.witness.client import WitnessAnswer, WitnessEndpoint, add_checkpoint

log = logging.getLogger(__name__)
ROUND_SECONDS = 1.0


class WitnessCollector:
    def __init__(self, database_url: str, schema: str, endpoints: list[WitnessEndpoint]) -> None:
        self.database_url = database_url
        self.schema = schema
        self.endpoints = endpoints
        self._known: dict[tuple[str, str], int] = {}  # (witness url, log id) -> its latest size

    def run(self, stop: threading.Event, interval: float = ROUND_SECONDS) -> None:
        conn: Connection | None = None
        try:
            while not stop.wait(interval):
                try:
                    if conn is None:
                        conn = connect(self.database_url, self.schema, autocommit=True)
                    with driver_errors():  # a database outage is a LedgerError, not a traceback
                        self.round(conn)
                except Exception as exc:  # never let one round stop the thread for good
                    if isinstance(exc, LedgerError):
                        log.warning("witnessing paused: %s", exc.diagnostics())
                    else:
                        log.exception("witnessing round failed")
                    if conn is not None:
                        conn.close()
                    conn = None  # a fresh connection next round
        finally:
            if conn is not None:
                conn.close()

    def round(self, conn: Connection) -> int:
        """Asks every witness that has not cosigned a log's latest checkpoint; returns how many did."""
        stored = 0
        for checkpoint in latest_per_log(conn):
            have = cosigned_by(conn, checkpoint.log_id, checkpoint.tree_size)
            for endpoint in self.endpoints:
                if (endpoint.name, endpoint.verifier.key_id) not in have:
                    stored += self.ask(conn, endpoint, checkpoint)
        return stored

    def ask(self, conn: Connection, endpoint: WitnessEndpoint, stored: StoredCheckpoint) -> int:
        log_id, size = stored.log_id, stored.tree_size
        key = (endpoint.url, log_id)
        old = self._known.get(key)
        if old is None:
            old = latest_cosigned_size(conn, log_id, endpoint.name, endpoint.verifier.key_id)
        answer = WitnessAnswer(0, "not asked")
        for _ in range(2):  # a 409 tells us the witness's size; ask once more from there
            if old > size:
                log.warning(
                    "witness %s knows %s at size %d, past our latest checkpoint %d",
                    endpoint.name,
                    log_id,
                    old,
                    size,
                )
                return 0
            proof = self._proof(conn, log_id, old, size)
            answer = add_checkpoint(endpoint, AddCheckpoint(old, proof, stored.note))
            if answer.status != 409:
                break
            try:
                old = parse_size_body(answer.body)
            except LedgerError:
                break  # a 409 without a size: the witness saw another root at this size
            self._known[key] = old
        if answer.status != 200:
            level = logging.ERROR if answer.status in (409, 422) else logging.WARNING
            log.log(
                level,
                "witness %s did not cosign %s at size %d (%s): %s",
                endpoint.name,
                log_id,
                size,
                answer.status or "unreachable",
                answer.body.strip(),
            )
            return 0
        return self._store(conn, endpoint, stored, answer.body, key)

    def _proof(self, conn: Connection, log_id: str, old: int, size: int) -> list[bytes]:
        if old in (0, size):
            return []
        nodes = fetch_nodes(conn, log_id, merkle.consistency_plan(old, size))
        return merkle.consistency_proof_from_nodes(old, size, nodes)

    def _store(
        self,
        conn: Connection,
        endpoint: WitnessEndpoint,
        stored: StoredCheckpoint,
        body: str,
        key: tuple[str, str],
    ) -> int:
        text, _ = split_note(stored.note)
        count = 0
        for line in body.splitlines(keepends=True):
            try:
                cosignature = Cosignature.parse(line.rstrip("\n"))
            except LedgerError:
                continue
            if cosignature is None or not endpoint.verifier.verify(text, cosignature):
                continue  # another witness's key, or not a valid cosignature: ignored
            insert_cosignature(
                conn,
                stored.log_id,
                stored.tree_size,
                endpoint.name,
                cosignature.key_id,
                cosignature.timestamp,
                cosignature.line,
            )
            count += 1
        if count:
            self._known[key] = stored.tree_size
        else:
            log.warning("witness %s answered without a valid cosignature", endpoint.name)
        return count
