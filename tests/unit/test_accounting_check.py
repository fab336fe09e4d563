"""verify-accounting's offline check (ledger.tlog.accounting_check) on an index built in memory:
no services, the same answer shape `ledger accounting --index-proof` prints."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from consumers.taxpayer_postings import Postings
from ledger.codec import EventCodec
from ledger.intake import build_event
from ledger.privacy import taxpayer_ref
from ledger.tlog import checkpoint as tlog
from ledger.tlog import merkle, mpt
from ledger.tlog.accounting_check import AccountingProofError, check_index_proof
from ledger.tlog.mpt_tree import Tree
from ledger.tlog.note import Signer
from ledger.tlog.taxpayer_index import Position, snapshot_leaf
from ledger.tlog.tlog_proof import from_inclusion_json

K = b"q" * 32
LOG, ORIGIN = "d/0", "ledger.example.gov/d/0"
A, B = taxpayer_ref(K, "111-11-1111"), taxpayer_ref(K, "222-22-2222")
b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731


def recorded(did: str, refs: list[str]) -> dict[str, object]:
    return {
        "type": "DisclosureRecorded", "disclosure_id": did, "source_agency": "IRS",
        "recipient_agency": "ICE", "legal_authority": "26 U.S.C. 6103(i)(2)",
        "purpose": "Non-tax criminal investigation", "nature": "LAST_KNOWN_ADDRESS",
        "transmitted_at": "2025-08-07T12:00:00Z", "record_count": max(1, len(refs)),
        "tax_periods": ["2024"], "data_categories": ["address"], "taxpayer_refs": refs,
    }  # fmt: skip


def world() -> tuple[Signer, dict[str, dict[str, Any]]]:
    """A disclosure log of four entries, its index, a one-leaf index log, and two answers."""
    log_key = Signer.generate("disclosure-ledger")
    amend = {"type": "DisclosureAmended", "disclosure_id": "D-1", "recipient_agency": "ICE",
             "changes": {"withdrawn": "true"}, "reason": "sent in error"}  # fmt: skip
    objs = [recorded("D-1", [A, B]), recorded("D-2", []), recorded("D-3", [B]), amend]
    values = [EventCodec().encode(build_event(o)) for o in objs]
    leaves = [merkle.leaf_hash(v) for v in values]
    root = merkle.root_from_leaf_hashes(leaves)
    log_note = tlog.sign(tlog.Checkpoint(ORIGIN, 4, root), [log_key])
    postings = Postings(K)
    for i, v in enumerate(values):
        postings.apply(Position(LOG, i), EventCodec().decode(v).event)
    tree = Tree.from_sorted(postings.entries(postings.by_key))
    leaf = snapshot_leaf(tree.snapshot(), [(ORIGIN, 4, root)])
    index_note = tlog.sign(
        tlog.Checkpoint("ledger.example.gov/index", 1, merkle.leaf_hash(leaf)), [log_key]
    )
    answers = {}
    for name, ref in (("A", A), ("B", B), ("never", taxpayer_ref(K, "999-99-9999"))):
        key = postings.key(ref)
        value, proof = mpt.prove_lookup(key, tree.path(key))
        entries = []
        for p in postings.positions(key) if value is not None else []:
            inclusion = {
                "log": LOG, "leaf_index": p.index, "tree_size": 4, "leaf_hash": b64(leaves[p.index]),
                "value": b64(values[p.index]), "checkpoint": log_note,
                "hashes": [b64(h) for h in merkle.inclusion_proof(leaves, p.index, 4)],
            }  # fmt: skip
            tlog_text = from_inclusion_json(inclusion).to_text()
            entries.append(
                {"log": LOG, "index": p.index, "proof": inclusion, "tlog_proof": tlog_text}
            )
        answers[name] = {
            "snapshot": tree.snapshot().hex(), "key": key.hex(),
            "value": None if value is None else value.hex(), "proof": proof.hex(),
            "entries": entries,
            "index_log": {"leaf_index": 0, "leaf": b64(leaf), "hashes": [], "checkpoint": index_note},
        }  # fmt: skip
    return log_key, answers


LOG_KEY, ANSWERS = world()
V = [LOG_KEY.verifier]


def test_each_answer_verifies_with_and_without_the_taxpayer_key() -> None:
    a = check_index_proof(ANSWERS["A"], V, taxpayer_key=K, ref=A)
    assert (a.present, a.entries, a.index_size) == (True, 2, 1)  # D-1 and its amendment
    b = check_index_proof(ANSWERS["B"], V, taxpayer_key=K, ref=B)
    assert b.entries == 3
    never = check_index_proof(ANSWERS["never"], V, taxpayer_key=K, ref=taxpayer_ref(K, "999999999"))
    assert (never.present, never.entries) == (False, 0)
    assert check_index_proof(ANSWERS["A"], V).present


def _flip(hex_text: str, at: int) -> str:
    return hex_text[:at] + ("1" if hex_text[at] == "0" else "0") + hex_text[at + 1 :]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda a: a.update(proof=_flip(a["proof"], 4)), "MPT proof"),
        (lambda a: a.update(snapshot=_flip(a["snapshot"], 0)), "snapshot"),
        (lambda a: a.update(value=_flip(a["value"], 0)), "MPT proof"),
        (lambda a: a["entries"].pop(), "listed entries"),
        (lambda a: a["entries"].reverse(), "out of order"),
        (lambda a: a["entries"].append(a["entries"][-1]), "repeat"),
        (lambda a: a["entries"][0]["proof"].update(leaf_index=1), "inclusion proof"),
        (lambda a: a["entries"][0].update(tlog_proof=a["entries"][1]["tlog_proof"]), "tlog-proof"),
        (lambda a: a["index_log"].update(leaf_index=1), "leaf is not in"),
        (
            lambda a: a["index_log"].update(
                checkpoint=a["index_log"]["checkpoint"].replace("1", "2", 1)
            ),
            "checkpoint does not verify",
        ),
    ],
)
def test_each_tampering_is_named(change: Any, named: str) -> None:
    answer = copy.deepcopy(ANSWERS["B"])
    change(answer)
    with pytest.raises(AccountingProofError, match=named):
        check_index_proof(answer, V, taxpayer_key=K, ref=B)


def test_another_taxpayers_answer_and_another_signer_fail() -> None:
    with pytest.raises(AccountingProofError, match="another"):
        check_index_proof(ANSWERS["A"], V, taxpayer_key=K, ref=B)
    with pytest.raises(AccountingProofError, match="checkpoint does not verify"):
        check_index_proof(ANSWERS["A"], [Signer.generate("disclosure-ledger").verifier])
