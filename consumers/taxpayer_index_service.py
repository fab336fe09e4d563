"""The taxpayer index under `ledger consume`: a periodic loop, not a Kafka consumer.

The indexer follows the disclosure logs' signed checkpoints (see ``taxpayer_index``), so it
polls the checkpoints table every ``every`` seconds instead of reading a topic; meanwhile it
reads ahead, preparing the entries stored since (``TaxpayerIndexer.read_ahead``), so a round
that finds a new checkpoint has little left to do. Each round is one update in one
transaction; a round that fails is logged, kept in ``errors`` and retried with backoff by a
fresh indexer that reloads the stored rows, so a restart computes the same tree. Two loops at
once are safe: the second's snapshot of the same number fails on the table's unique key, rolls
back and reloads.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from consumers.index_witnessing import witness_index
from consumers.taxpayer_index import TaxpayerIndexer
from ledger.keys import load_signers, origin_for, signing_key_path
from ledger.privacy import load_taxpayer_key, taxpayer_key_path
from ledger.runtime import Ledger
from ledger.store import taxpayer_index as store
from ledger.store.connection import connection, transaction
from ledger.tlog import checkpoint

log = logging.getLogger(__name__)

INDEX_EVERY_SECONDS = 1.0  # checkpoints are signed about as often; a round without one is a query
AHEAD_POLL_SECONDS = 0.25  # between reads ahead that found nothing new: a query per log each
WITNESS_EVERY_SECONDS = 30.0  # retry witnesses that did not cosign, without asking every second
RESTART_FIRST_SECONDS = 1.0
RESTART_MAX_SECONDS = 60.0


def index_origin(ledger: Ledger) -> str:
    return f"{ledger.settings.log_origin}/index"


def indexer_for(ledger: Ledger) -> TaxpayerIndexer:
    key = load_taxpayer_key(taxpayer_key_path(ledger.settings))

    # Loaded when a snapshot is signed, not before: `ledger accounting` only reads the index.
    def sign(cp: checkpoint.Checkpoint) -> str:
        return checkpoint.sign(cp, load_signers(signing_key_path(ledger.settings)))

    return TaxpayerIndexer(
        key,
        ledger.topics.disclosures,
        lambda log_id: origin_for(ledger.settings, log_id),
        index_origin=index_origin(ledger),
        sign=sign,
    )


def update_index(
    ledger: Ledger, indexer: TaxpayerIndexer | None = None
) -> store.StoredSnapshot | None:
    """One update in one transaction: the new snapshot, or None when no checkpoint moved."""
    indexer = indexer or indexer_for(ledger)
    with connection(ledger.writer_url, ledger.schema) as conn, transaction(conn):
        return indexer.update(conn)


def read_ahead(
    ledger: Ledger, indexer: TaxpayerIndexer, until: float, stopping: threading.Event
) -> int:
    """Until ``until`` (a monotonic time), prepare the entries stored beyond the index, a slice
    at a time; how many. Reads only, outside any transaction: a slice sees what is stored."""
    total = 0
    with connection(ledger.writer_url, ledger.schema, autocommit=True) as conn:
        while not stopping.is_set() and (left := until - time.monotonic()) > 0:
            read = indexer.read_ahead(conn)
            total += read
            if not read:  # nothing new stored, or the buffer is full
                stopping.wait(min(left, AHEAD_POLL_SECONDS))
    return total


@dataclass
class IndexLoop:
    """``run`` until ``stopping`` is set: update the index, then ask witnesses to cosign."""

    ledger: Ledger
    every: float = INDEX_EVERY_SECONDS
    snapshots: int = 0  # committed by this loop
    cosignatures: int = 0
    restarts: int = 0
    errors: list[BaseException] = field(default_factory=list)
    name: str = "taxpayer_index"

    def run(self, stopping: threading.Event) -> None:
        indexer: TaxpayerIndexer | None = None
        failures = 0
        witnessed_at = float("-inf")
        while not stopping.is_set():
            delay = self.every
            try:
                indexer = indexer or indexer_for(self.ledger)
                snap = update_index(self.ledger, indexer)
                if snap is not None:
                    self.snapshots += 1
                    log.info("taxpayer index snapshot %d: %s", snap.seq, snap.snapshot.hex())
                if snap is not None or time.monotonic() - witnessed_at >= WITNESS_EVERY_SECONDS:
                    witnessed_at = time.monotonic()
                    self.cosignatures += witness_index(self.ledger)
                failures = 0
                read_ahead(self.ledger, indexer, time.monotonic() + delay, stopping)
                delay = 0.0  # the wait was spent reading ahead
            except Exception as exc:  # logged and kept, then retried from the stored rows
                log.exception("the taxpayer index stopped with an error; restarting it")
                self.errors.append(exc)
                indexer = None
                delay = min(RESTART_MAX_SECONDS, RESTART_FIRST_SECONDS * 2**failures)
                failures += 1
                self.restarts += 1
            stopping.wait(delay)


def start_index_loop(
    ledger: Ledger, stopping: threading.Event
) -> tuple[IndexLoop, threading.Thread]:
    loop = IndexLoop(ledger)
    t = threading.Thread(target=loop.run, args=(stopping,), name="taxpayer_index", daemon=True)
    t.start()
    return loop, t
