"""The taxpayer index's consumer: after new checkpoints of the disclosure logs, index the entries
they cover and store a snapshot of the index's MPT with the checkpoints it covers.

It follows the disclosure logs' checkpoints, not Kafka: an entry's position is its leaf index,
which only the audit log assigns, and a snapshot is only worth committing for entries a signed
checkpoint covers. State is PostgreSQL's (migrations 016, 018); the MPT is held in memory, loaded
from the postings on start, so a restart or a second process computes the same snapshots, and
a rebuild from the log (``rebuild``) replays each stored snapshot's coverage to compare. Each
snapshot also stores the MPT nodes it changed, which is what answers read: one key's path, never
the whole tree (docs/mpt.md, "Stored nodes").

Between checkpoints it reads ahead (``read_ahead``): entries the audit log stored beyond what
the index applied are decoded and their index keys derived into a buffer in memory
(``taxpayer_ahead``), so that applying the next checkpoint is mostly the tree update, the
stores and the signing. What is prepared is what reading at apply time would give, so the
snapshots are the same with or without it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from itertools import chain

from consumers.taxpayer_ahead import Ahead
from consumers.taxpayer_postings import Postings, Prepared
from ledger.codec import HEADER_LEN, EventCodec
from ledger.errors import CodecError, LedgerError, VerificationError
from ledger.store import Connection
from ledger.store import taxpayer_index as store
from ledger.store.entries import entry_values, entry_values_from, log_ids
from ledger.tlog.checkpoint import Checkpoint
from ledger.tlog.merkle import leaf_hash, root_from_leaf_hashes
from ledger.tlog.mpt_nodes import all_records, changed_records
from ledger.tlog.mpt_tree import Tree
from ledger.tlog.taxpayer_index import Position, snapshot_leaf

log = logging.getLogger(__name__)
PAGE = 10_000  # entries read per query
# Entries read ahead per call: about a tenth of a second's work (50 µs an entry, bench figures
# in docs/mpt.md), so the next round is not held up by much.
AHEAD_SLICE = 2_000
# The types whose entries can concern a taxpayer (see taxpayer_postings); the rest are skipped.
CONCERNING = frozenset({"DisclosureRecorded", "DisclosureManifest", "DisclosureAmended"})


class TaxpayerIndexer:
    def __init__(
        self,
        taxpayer_key: bytes,
        disclosure_topic: str,
        origin_of: Callable[[str], str],
        codec: EventCodec | None = None,
        *,
        index_origin: str = "",
        sign: Callable[[Checkpoint], str] | None = None,
    ) -> None:
        self.taxpayer_key = taxpayer_key
        self.index_origin = index_origin
        self.sign = sign
        self.log_prefix = disclosure_topic + "/"
        self.origin_of = origin_of
        self.codec = codec or EventCodec()
        self.postings = Postings(taxpayer_key)
        self.tree = Tree()
        self.latest: store.StoredSnapshot | None = None
        self.loaded = False
        self.nodes_checked = False
        self.ahead = Ahead()
        self.used_ahead = 0  # entries updates took prepared from the buffer (logs and tests)

    def load(self, conn: Connection) -> None:
        """The in-memory state from the stored rows (on start, and after a failed update)."""
        before = store.latest_snapshot(conn)
        self.postings = Postings(self.taxpayer_key)
        for key, log_id, seq in store.postings(conn):
            self.postings.by_key.setdefault(key, set()).add(Position(log_id, seq))
        for disclosure_id, key in store.disclosures(conn):
            self.postings.keys_of.setdefault(disclosure_id, set()).add(key)
        self.tree = Tree.from_sorted(self.postings.entries(self.postings.by_key))
        self.latest = store.latest_snapshot(conn)
        # Postings changed behind the triggers (or a snapshot did) would have the next snapshot
        # signed on a tree the log does not give: refuse. Only when no other process committed
        # a snapshot while the rows were read (then this one's update fails and reloads anyway).
        if before == self.latest and before is not None and self.tree.snapshot() != before.snapshot:
            raise VerificationError(
                f"The stored taxpayer index postings do not give index snapshot {before.seq}"
                " as it was signed; the index stops here. Run `ledger verify --index` to find"
                " the first leaf that differs."
            )
        self.loaded = True
        self.nodes_checked = False
        self.ahead.clear()  # prepared for the state it replaces

    def _index(
        self, conn: Connection, log_id: str, start: int, end: int, write: bool
    ) -> set[bytes]:
        """Apply entries [start, end) of a log (and store their postings when ``write``): those
        read ahead as prepared, the rest read now. The keys they changed."""
        changed: set[bytes] = set()
        postings: list[tuple[bytes, str, int]] = []
        disclosures: list[tuple[str, bytes]] = []
        taken, upto = self.ahead.take(log_id, start, end)
        self.used_ahead += upto - start
        for seq, prepared in chain(taken, self._read(conn, log_id, upto, end)):
            keys = self.postings.apply_prepared(Position(log_id, seq), prepared)
            postings += [(k, log_id, seq) for k in keys]
            disclosures += [(prepared.disclosure_id, k) for k in keys]
            changed |= keys
        if write:
            store.insert_postings(conn, postings)
            store.insert_disclosures(conn, disclosures)
        return changed

    def _read(
        self, conn: Connection, log_id: str, start: int, end: int
    ) -> Iterator[tuple[int, Prepared]]:
        for seq, value in self._values(conn, log_id, start, end):
            prepared = self._prepare(log_id, seq, value)
            if prepared is not None:
                yield seq, prepared

    def _prepare(self, log_id: str, seq: int, value: bytes) -> Prepared | None:
        """What entry ``seq`` means for the postings, from its bytes alone."""
        if not self._may_concern(value):
            return None
        try:
            event = self.codec.decode(value).event
        except CodecError:  # the audit log stored it, so it decoded once; never guess
            log.warning("taxpayer index: entry %s of %s does not decode", seq, log_id)
            return None
        return self.postings.prepare(event)

    def read_ahead(self, conn: Connection, most: int = AHEAD_SLICE) -> int:
        """Prepare up to ``most`` entries the audit log stored beyond those the index applied
        (checkpointed or not yet), shared among the disclosure logs, a log that appeared since
        included; how many. Nothing before the first update has loaded the index."""
        if not self.loaded:
            return 0
        done = self._done()
        logs = [i for i in log_ids(conn) if i.startswith(self.log_prefix)]
        read = 0
        try:
            for n, log_id in enumerate(logs):
                share = min((most - read) // (len(logs) - n), self.ahead.room())
                start = self.ahead.resume(log_id, done.get(log_id, 0))
                if share <= 0:
                    continue
                for seq, value in entry_values_from(conn, log_id, start, share):
                    if seq != start:  # stored entries have no gaps; never step over one
                        break
                    self.ahead.put(log_id, seq, self._prepare(log_id, seq, value))
                    start += 1
                    read += 1
        except BaseException:
            self.ahead.clear()  # half a read is of no use; the buffer is only ever a head start
            raise
        return read

    def _may_concern(self, value: bytes) -> bool:
        """Whether an entry's type can name a taxpayer, read from its header alone: decoding
        is most of the indexer's work (bench/index_ingest.py), and requests, notices and
        alerts need none of it."""
        try:
            return self.codec.registry.by_fingerprint(value[2:HEADER_LEN]).event_type in CONCERNING
        except LedgerError:
            return True  # decode it, and let the decoder say what is wrong

    @staticmethod
    def _values(conn: Connection, log_id: str, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        """(seq, message bytes) of entries [start, end), read a page at a time: a first run over
        a long log must not hold all of it in memory."""
        for first in range(start, end, PAGE):
            yield from enumerate(entry_values(conn, log_id, first, min(first + PAGE, end)), first)

    def _done(self) -> dict[str, int]:
        return {c.log_id: c.tree_size for c in (self.latest.covered if self.latest else ())}

    def _advance(self, conn: Connection, target: list[store.Covered], write: bool) -> bytes:
        """Index each log from where the latest snapshot left it up to ``target``."""
        done = self._done()
        changed: set[bytes] = set()
        for cp in target:
            if cp.tree_size > done.get(cp.log_id, 0):
                start = done.get(cp.log_id, 0)
                changed |= self._index(conn, cp.log_id, start, cp.tree_size, write)
        for key, value in self.postings.entries(changed):
            self.tree.set(key, value)
        if not write:
            self.tree.take_changed()  # a rebuild stores no nodes
        return self.tree.snapshot()

    def _leaf(self, snapshot: bytes, covered: list[store.Covered]) -> bytes:
        return snapshot_leaf(
            snapshot, [(self.origin_of(c.log_id), c.tree_size, c.root_hash) for c in covered]
        )

    def update(self, conn: Connection) -> store.StoredSnapshot | None:
        """Index up to the disclosure logs' newest checkpoints and store the snapshot; None when
        no checkpoint moved. Run it in a transaction; if it fails, the next call reloads."""
        if not self.loaded:
            self.load(conn)
        if not self.nodes_checked:
            self._store_every_node(conn)
        covered = store.latest_checkpoints(conn, self.log_prefix)  # sorted by log id
        done = self._done()
        if all(done.get(c.log_id, 0) >= c.tree_size for c in covered):
            return None
        self.loaded = False  # until the snapshot is stored
        used = self.used_ahead
        try:
            snap = self._snapshot(conn, covered)
        except BaseException:
            self.ahead.clear()  # the next call reloads; what it loads is prepared again
            raise
        self.latest, self.loaded = snap, True
        log.debug(
            "taxpayer index snapshot %d: %d entries prepared ahead",
            snap.seq,
            self.used_ahead - used,
        )
        return snap

    def _snapshot(self, conn: Connection, covered: list[store.Covered]) -> store.StoredSnapshot:
        """Index up to ``covered``, store the snapshot and its nodes, sign the index log."""
        snapshot = self._advance(conn, covered, write=True)
        seq = 0 if self.latest is None else self.latest.seq + 1
        snap = store.StoredSnapshot(seq, snapshot, self._leaf(snapshot, covered), tuple(covered))
        store.insert_snapshot(conn, snap)
        store.insert_nodes(conn, seq, changed_records(self.tree))
        if self.sign is not None:
            self._checkpoint(conn, seq + 1, self.sign)
        return snap

    def _store_every_node(self, conn: Connection) -> None:
        """A latest snapshot stored before its nodes were (an index older than migration 018):
        store the whole tree once, under that snapshot, so answers can walk it."""
        if self.latest is not None and not store.nodes_stored_at(conn, self.latest.seq):
            store.insert_nodes(conn, self.latest.seq, all_records(self.tree))
        self.nodes_checked = True

    def _checkpoint(self, conn: Connection, size: int, sign: Callable[[Checkpoint], str]) -> None:
        """Sign the index log at ``size`` leaves. It rehashes every leaf: one leaf per disclosure
        checkpoint keeps the log small; stored tree nodes are for when it is not."""
        hashes = [leaf_hash(leaf) for leaf in store.leaves(conn, size)]
        root = root_from_leaf_hashes(hashes)
        store.insert_checkpoint(conn, size, root, sign(Checkpoint(self.index_origin, size, root)))


def rebuild(
    conn: Connection, fresh: TaxpayerIndexer
) -> Iterator[tuple[store.StoredSnapshot, bytes, bytes]]:
    """Replay the log into ``fresh`` (a new, empty indexer), one stored snapshot's coverage at a
    time, writing nothing: each stored snapshot with the snapshot hash and leaf the log gives."""
    fresh.loaded = True
    for stored in store.snapshots(conn):
        snapshot = fresh._advance(conn, list(stored.covered), write=False)
        yield stored, snapshot, fresh._leaf(snapshot, list(stored.covered))
        fresh.latest = stored
