"""Asks the configured witnesses (LEDGER_WITNESSES) to cosign the index log's newest checkpoint,
as the disclosure logs' checkpoints are (c2sp.org/tlog-witness): the witness checks the
consistency proof from the size it last cosigned, so it refuses an index log that forked."""

from __future__ import annotations

import logging

from ledger.errors import LedgerError
from ledger.runtime import Ledger
from ledger.store import Connection
from ledger.store import taxpayer_index as store
from ledger.store.connection import connection, transaction
from ledger.tlog import merkle
from ledger.tlog.cosignature import Cosignature, split_note
from ledger.tlog.witness_protocol import AddCheckpoint, parse_size_body
from ledger.witness.client import WitnessAnswer, WitnessEndpoint, add_checkpoint, parse_witnesses

log = logging.getLogger(__name__)


def _ask(endpoint: WitnessEndpoint, old: int, hashes: list[bytes], note: str) -> WitnessAnswer:
    size = len(hashes)
    answer = WitnessAnswer(0, "not asked")
    for _ in range(2):  # a 409 with a size tells us where the witness stands; ask once more
        if old > size:
            return WitnessAnswer(409, f"the witness knows the index log at size {old}")
        proof = [] if old in (0, size) else merkle.consistency_proof(hashes, old, size)
        answer = add_checkpoint(endpoint, AddCheckpoint(old, proof, note))
        if answer.status != 409:
            return answer
        try:
            old = parse_size_body(answer.body)
        except LedgerError:
            return answer  # a 409 without a size: the witness saw another root at this size
    return answer


def _store(conn: Connection, endpoint: WitnessEndpoint, size: int, note: str, body: str) -> int:
    text, _ = split_note(note)
    count = 0
    for line in body.splitlines(keepends=True):
        try:
            found = Cosignature.parse(line.rstrip("\n"))
        except LedgerError:
            continue
        if found is None or not endpoint.verifier.verify(text, found):
            continue  # another witness's key, or not a valid cosignature
        line_text = found.line
        store.insert_index_cosignature(
            conn, size, endpoint.name, found.key_id, found.timestamp, line_text
        )
        count += 1
    return count


def witness_index(ledger: Ledger) -> int:
    """One round: the cosignatures stored on the index log's newest checkpoint."""
    endpoints = parse_witnesses(ledger.settings.witnesses)
    if not endpoints:
        return 0
    stored = 0
    with connection(ledger.writer_url, ledger.schema) as conn, transaction(conn):
        signed = store.latest_index_checkpoint(conn)
        if signed is None:
            return 0
        size, note = signed
        have = store.index_cosigned(conn, size)
        hashes = [merkle.leaf_hash(leaf) for leaf in store.leaves(conn, size)]
        for endpoint in endpoints:
            if (endpoint.name, endpoint.verifier.key_id) in have:
                continue
            old = store.latest_index_cosigned_size(conn, endpoint.name, endpoint.verifier.key_id)
            answer = _ask(endpoint, old, hashes, note)
            if answer.status != 200:
                log.error(
                    "witness %s did not cosign the index log at size %d (%s): %s",
                    endpoint.name,
                    size,
                    answer.status or "unreachable",
                    answer.body.strip(),
                )
                continue
            stored += _store(conn, endpoint, size, note, answer.body)
    return stored
