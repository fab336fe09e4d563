"""Which entries the taxpayer index lists for a taxpayer: disclosures, manifest chunks, and the
amendments of those disclosures, in log positions; and the index changes when one is amended."""

from __future__ import annotations

from consumers.taxpayer_postings import Postings
from ledger.intake import build_event
from ledger.privacy import taxpayer_ref
from ledger.tlog import mpt
from ledger.tlog.mpt_tree import Tree
from ledger.tlog.taxpayer_index import Position, check_answer, index_key

K = b"t" * 32
A, B, C = (taxpayer_ref(K, tin) for tin in ("111-11-1111", "222-22-2222", "333-33-3333"))
WHEN = "2025-08-07T12:00:00Z"


def recorded(did: str, refs: list[str]) -> dict[str, object]:
    return {
        "type": "DisclosureRecorded", "disclosure_id": did, "source_agency": "IRS",
        "recipient_agency": "ICE", "legal_authority": "26 U.S.C. 6103(i)(2)",
        "purpose": "Non-tax criminal investigation", "nature": "LAST_KNOWN_ADDRESS",
        "transmitted_at": WHEN, "record_count": max(1, len(refs)), "tax_periods": ["2024"],
        "data_categories": ["address"], "taxpayer_refs": refs,
    }  # fmt: skip


def test_disclosures_chunks_and_amendments_are_listed_and_change_the_snapshot() -> None:
    postings = Postings(K)
    a, b, c = (postings.key(r) for r in (A, B, C))
    log = [
        recorded("D-1", [A]),
        recorded("D-2", []),
        {"type": "DisclosureManifest", "disclosure_id": "D-2", "recipient_agency": "ICE",
         "chunk_index": 0, "chunk_count": 1, "taxpayer_refs": [B, C]},
        recorded("D-3", [B]),
    ]  # fmt: skip
    changed = [postings.apply(Position("d/0", i), build_event(o)) for i, o in enumerate(log)]
    assert changed == [{a}, set(), {b, c}, {b}]
    assert postings.positions(a) == [Position("d/0", 0)]
    assert postings.positions(b) == [Position("d/0", 2), Position("d/0", 3)]
    tree = Tree.from_sorted(postings.entries(postings.by_key))
    before = tree.snapshot()

    withdraw = {"type": "DisclosureAmended", "disclosure_id": "D-2", "recipient_agency": "ICE",
                "changes": {"withdrawn": "true"}, "reason": "sent in error"}  # fmt: skip
    assert postings.apply(Position("d/0", 4), build_event(withdraw)) == {b, c}
    for key, value in postings.entries({b, c}):
        tree.set(key, value)
    assert tree.snapshot() != before
    assert postings.positions(c) == [Position("d/0", 2), Position("d/0", 4)]
    assert tree.snapshot() == Tree.from_sorted(postings.entries(postings.by_key)).snapshot()
    for ref in (A, B, C):
        key = index_key(K, ref)
        value, proof = mpt.prove_lookup(key, tree.path(key))
        check_answer(tree.snapshot(), key, value, proof, postings.positions(key), K, ref)
    never = taxpayer_ref(K, "444-44-4444")
    key = index_key(K, never)
    value, proof = mpt.prove_lookup(key, tree.path(key))
    assert value is None
    check_answer(tree.snapshot(), key, None, proof, [], K, never)
