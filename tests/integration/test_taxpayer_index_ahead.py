"""The taxpayer index reads ahead of the checkpoints: entries the audit log stored beyond a
checkpoint are prepared (decoded, their keys derived) before a checkpoint covers them, the
update that applies the checkpoint uses them instead of reading and decoding again, and the
snapshots are the ones the log rebuilds without any reading ahead."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from consumers import taxpayer_index
from consumers.service import KAFKA_CONSUMERS, start_consumers
from consumers.taxpayer_index import TaxpayerIndexer, rebuild
from ledger.ops.taxpayer_index import indexer_for, update_index, verify_index
from ledger.privacy import load_taxpayer_key, taxpayer_key_path, taxpayer_ref
from ledger.runtime import Ledger
from ledger.store import taxpayer_index as store
from ledger.store.connection import connection
from tests.integration.helpers import caught_up, disclosure, emit, isolated_ledger, rows, wait_until

pytestmark = pytest.mark.integration
D = date(2025, 8, 7)


def signed(led: Ledger, entries: int) -> list[store.Covered]:
    """The disclosure logs' newest checkpoints once they cover ``entries`` entries in all."""

    def covered() -> list[store.Covered]:
        with connection(led.reader_url, led.schema) as conn:
            cps = store.latest_checkpoints(conn, led.topics.disclosures + "/")
        return cps if sum(c.tree_size for c in cps) >= entries else []

    return wait_until(covered, what=f"checkpoints covering {entries} entries")


def counting(indexer: TaxpayerIndexer) -> list[int]:
    """Count the indexer's decodes (what reading ahead spares the update)."""
    calls = [0]
    decode: Callable[[bytes], Any] = indexer.codec.decode

    def counted(value: bytes) -> Any:
        calls[0] += 1
        return decode(value)

    indexer.codec.decode = counted  # type: ignore[method-assign]
    return calls


def test_entries_prepared_before_a_checkpoint_are_used_and_the_snapshots_rebuild(
    ledger_settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    led = isolated_ledger(ledger_settings, "taxahead", partitions=2)
    key = load_taxpayer_key(taxpayer_key_path(led.settings))
    a, b, c = (taxpayer_ref(key, t) for t in ("111-11-1111", "222-22-2222", "333-33-3333"))
    first = [disclosure(D, 1, "ICE", taxpayer_refs=[a]), disclosure(D, 2, "ICE")]
    first[1]["disclosure_id"] = "D-bulk"
    first += [
        {"type": "DisclosureManifest", "disclosure_id": "D-bulk", "recipient_agency": "ICE",
         "chunk_index": 0, "chunk_count": 1, "taxpayer_refs": [b, c]},
        disclosure(D, 3, "ICE"),
    ]  # fmt: skip
    # Then a withdrawal of the bulk disclosure (its keys resolved when applied), more
    # disclosures, and recipients that may land in the other partition's log.
    second = [
        {"type": "DisclosureAmended", "disclosure_id": "D-bulk", "recipient_agency": "ICE",
         "changes": {"withdrawn": "true"}, "reason": "sent in error"},
        disclosure(D, 4, "ICE", taxpayer_refs=[a, c]),
        *(disclosure(D, 1, f"Recipient {i}", taxpayer_refs=[b]) for i in range(6)),
    ]  # fmt: skip
    indexer = indexer_for(led)
    decodes = counting(indexer)
    running = start_consumers(led, KAFKA_CONSUMERS)  # the test updates the index itself
    try:
        emit(led, first)
        caught_up(led)
        at_first = signed(led, len(first))  # real checkpoints, as the first round finds them
        with connection(led.writer_url, led.schema, autocommit=True) as conn:
            assert indexer.read_ahead(conn) == 0  # not before the index is loaded
            indexer.load(conn)
            assert indexer.read_ahead(conn, most=2) == 2  # part of the first checkpoint's
        emit(led, second)
        caught_up(led)
        signed(led, len(first) + len(second))
    finally:
        running.stop()
    assert sum(c.tree_size for c in at_first) == len(first)
    assert decodes[0] == 2
    assert len(indexer.ahead) == 2
    stored = rows(led, "SELECT count(*) FROM entries WHERE starts_with(log_id, %s)",
                  (led.topics.disclosures + "/",))[0][0]  # fmt: skip
    assert stored == len(first) + len(second)

    # Round one finds the first checkpoints only (the second batch stored, not yet signed):
    # two entries come prepared, the rest are read and decoded then.
    with monkeypatch.context() as m:
        m.setattr(taxpayer_index.store, "latest_checkpoints", lambda conn, prefix: at_first)
        snap0 = update_index(led, indexer)
    assert snap0 is not None
    assert snap0.covered == tuple(at_first)
    assert indexer.used_ahead == 2
    assert decodes[0] == len(first)
    assert len(indexer.ahead) == 0

    # Between rounds it prepares everything stored beyond the snapshot, checkpointed or not;
    # round two decodes nothing.
    with connection(led.writer_url, led.schema, autocommit=True) as conn:
        assert indexer.read_ahead(conn) == len(second)
        assert indexer.read_ahead(conn) == 0  # nothing more is stored: it never reads past it
    assert decodes[0] == len(first) + len(second)
    snap1 = update_index(led, indexer)
    assert snap1 is not None
    assert snap1.seq == 1
    assert decodes[0] == len(first) + len(second)
    assert indexer.used_ahead == 2 + len(second)
    assert len(indexer.ahead) == 0

    # The same snapshots and leaves as a rebuild from the log, which never reads ahead, and the
    # same tree as a restart that loads the stored rows.
    fresh = TaxpayerIndexer(indexer.taxpayer_key, led.topics.disclosures, indexer.origin_of)
    with connection(led.reader_url, led.schema) as conn:
        rebuilt = [(s.seq, snapshot, leaf) for s, snapshot, leaf in rebuild(conn, fresh)]
        restarted = indexer_for(led)
        restarted.load(conn)
    assert rebuilt == [(0, snap0.snapshot, snap0.leaf), (1, snap1.snapshot, snap1.leaf)]
    assert restarted.tree.snapshot() == snap1.snapshot
    assert restarted.postings.by_key == indexer.postings.by_key
    assert verify_index(led) is None

    # A reload drops what was prepared: it was prepared for the state the reload replaces.
    with connection(led.writer_url, led.schema, autocommit=True) as conn:
        indexer.load(conn)
        indexer.latest = None  # as if no snapshot were stored: all of it is "ahead"
        assert indexer.read_ahead(conn) == stored
        indexer.load(conn)
    assert len(indexer.ahead) == 0
    assert indexer.ahead.keys == 0
