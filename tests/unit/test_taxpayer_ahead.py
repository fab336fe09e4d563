"""The taxpayer index's read-ahead: entries prepared out of turn apply to the same postings as
entries applied in turn (an amendment's keys resolved when applied, from the entries before
it), and the buffer hands back exactly the prepared run a checkpoint covers, within bounds."""

from __future__ import annotations

import pytest

from consumers.taxpayer_ahead import Ahead
from consumers.taxpayer_postings import Postings, Prepared
from ledger.intake import build_event
from ledger.tlog.mpt_tree import Tree
from ledger.tlog.taxpayer_index import Position
from tests.unit.test_taxpayer_postings import A, B, C, K, recorded


def amended(did: str) -> dict[str, object]:
    return {"type": "DisclosureAmended", "disclosure_id": did, "recipient_agency": "ICE",
            "changes": {"withdrawn": "true"}, "reason": "sent in error"}  # fmt: skip


LOG = [
    recorded("D-1", [A]),
    recorded("D-2", []),
    amended("D-2"),  # before its chunk: no taxpayer yet
    {"type": "DisclosureManifest", "disclosure_id": "D-2", "recipient_agency": "ICE",
     "chunk_index": 0, "chunk_count": 1, "taxpayer_refs": [B, C]},
    amended("D-2"),  # after it: B and C
    amended("D-1"),
    amended("D-9"),  # a disclosure the log does not hold
]  # fmt: skip


def test_entries_prepared_out_of_order_apply_as_entries_applied_in_order() -> None:
    events = [build_event(o) for o in LOG]
    in_turn = Postings(K)
    changed = [in_turn.apply(Position("d/0", i), e) for i, e in enumerate(events)]

    ahead = Postings(K)
    prepared = {i: ahead.prepare(e) for i, e in reversed(list(enumerate(events)))}
    assert prepared[2] == Prepared("D-2", None)  # an amendment's keys wait for its turn
    assert all(p is not None for p in prepared.values())
    assert ahead.by_key == {}
    assert ahead.keys_of == {}
    out_of_turn = [
        ahead.apply_prepared(Position("d/0", i), p)
        for i, p in sorted(prepared.items())
        if p is not None
    ]
    assert out_of_turn == changed
    b, c = ahead.key(B), ahead.key(C)
    assert changed[2] == set()
    assert changed[4] == {b, c}
    assert ahead.by_key == in_turn.by_key
    assert ahead.keys_of == in_turn.keys_of
    tree = Tree.from_sorted(ahead.entries(ahead.by_key))
    assert tree.snapshot() == Tree.from_sorted(in_turn.entries(in_turn.by_key)).snapshot()


def p(*keys: bytes) -> Prepared:
    return Prepared("D", frozenset(keys))


def test_a_checkpoint_takes_the_prepared_run_it_covers_and_the_rest_stays() -> None:
    ahead = Ahead()
    assert ahead.resume("d/0", 0) == 0
    for seq in range(5):
        ahead.put("d/0", seq, None if seq == 1 else p(bytes([seq])))
    assert len(ahead) == 5
    assert ahead.keys == 4
    assert ahead.resume("d/0", 0) == 5  # reading goes on after the run
    taken, upto = ahead.take("d/0", 0, 3)
    assert [s for s, _ in taken] == [0, 2]
    assert upto == 3
    assert len(ahead) == 2
    assert ahead.keys == 2
    # The next checkpoint covers more than was read: the rest is read then, the run is spent.
    taken, upto = ahead.take("d/0", 3, 8)
    assert [s for s, _ in taken] == [3, 4]
    assert upto == 5
    assert len(ahead) == 0
    assert ahead.keys == 0
    assert ahead.resume("d/0", 8) == 8


def test_a_log_that_appears_later_and_a_log_never_read_ahead() -> None:
    ahead = Ahead()
    assert ahead.take("d/1", 0, 4) == ([], 0)  # nothing prepared: all of it is read
    ahead.put("d/2", 0, p(b"x"))  # a new log: its run starts at 0
    assert ahead.resume("d/2", 0) == 1
    assert ahead.take("d/2", 0, 1) == ([(0, p(b"x"))], 1)


def test_a_run_that_is_not_where_the_index_stands_is_dropped() -> None:
    ahead = Ahead()
    for seq in range(3, 6):
        ahead.put("d/0", seq, p(bytes([seq])))
    # Another process indexed further meanwhile: the run is behind, then it is ahead of a take.
    assert ahead.resume("d/0", 7) == 7
    assert len(ahead) == 0
    for seq in range(7, 9):
        ahead.put("d/0", seq, p(bytes([seq])))
    assert ahead.take("d/0", 6, 9) == ([], 6)
    assert len(ahead) == 0
    assert ahead.keys == 0
    # Entries the index applied meanwhile leave the run when reading resumes.
    for seq in range(6, 9):
        ahead.put("d/0", seq, p(bytes([seq])))
    assert ahead.resume("d/0", 8) == 9
    assert len(ahead) == 1
    assert ahead.keys == 1
    with pytest.raises(ValueError, match="not the next one"):
        ahead.put("d/0", 11, None)


def test_the_buffer_is_bounded_by_entries_and_by_keys() -> None:
    ahead = Ahead(max_entries=3, max_keys=4)
    assert ahead.room() == 3
    ahead.put("d/0", 0, None)
    ahead.put("d/1", 0, p(b"a", b"b"))
    assert ahead.room() == 1
    ahead.put("d/1", 1, p(b"c", b"d"))
    assert ahead.room() == 0  # the keys' bound
    ahead.take("d/1", 0, 1)
    assert ahead.room() == 1
    ahead.clear()
    assert ahead.room() == 3
    assert ahead.keys == 0
    assert ahead.take("d/1", 1, 2) == ([], 1)
