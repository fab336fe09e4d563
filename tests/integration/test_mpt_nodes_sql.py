"""The recursive SQL walk down stored MPT nodes (store.taxpayer_index.path_records) gives the
in-memory tree's path at every snapshot: keys of mixed lengths that split inside each other's
padding, present and absent keys, a later snapshot beside an earlier one, in real PostgreSQL."""

from __future__ import annotations

import random

import pytest

from ledger.store.connection import connection, transaction
from ledger.store.taxpayer_index import insert_nodes, path_records
from ledger.tlog import mpt
from ledger.tlog.mpt_nodes import changed_records, stored_path
from ledger.tlog.mpt_tree import Tree
from tests.integration.helpers import isolated_ledger

pytestmark = pytest.mark.integration


def test_the_sql_walk_gives_the_trees_paths_at_each_snapshot(ledger_settings) -> None:
    led = isolated_ledger(ledger_settings, "mptsql", partitions=1)
    rnd = random.Random(7)
    alphabet = [0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF]

    def key() -> bytes:  # short keys over few bytes: shared prefixes, splits in the padding
        return bytes(rnd.choice(alphabet) for _ in range(rnd.randrange(0, 5)))

    tree = Tree()
    expected: list[tuple[bytes, dict[bytes, bytes]]] = []
    probes = [key() for _ in range(60)] + [rnd.randbytes(32) for _ in range(20)]
    with connection(led.admin_url, led.schema) as conn:
        for seq in range(4):
            for _ in range(25):
                tree.set(key(), rnd.randbytes(3))
            with transaction(conn):
                insert_nodes(conn, seq, changed_records(tree))
            expected.append((tree.snapshot(), {k: tree.path(k) for k in probes}))
        walked = 0
        for seq, (snapshot, paths) in enumerate(expected):
            for k, path in paths.items():
                assert stored_path(k, path_records(conn, seq, k).get) == (snapshot, path)
                value, proof = mpt.prove_lookup(k, path)
                mpt.verify_lookup(snapshot, k, value, proof)
                walked += value is not None
        assert walked > 0  # some probes were present, not only absent
