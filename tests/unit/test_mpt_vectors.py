"""torchwood's own MPT test vectors (tests/assets/mpt, copied from filippo.io/torchwood v0.10.0
mpt/testdata) run against ledger.tlog.mpt and ledger.tlog.mpt_tree."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest

from ledger.tlog import mpt
from ledger.tlog.mpt_tree import Tree

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "mpt"


def _lines(name: str) -> Iterator[tuple[int, str, list[str]]]:
    """(line number, command, arguments), with ``\\`` continuations joined."""
    pending, start = "", 0
    for number, raw in enumerate((ASSETS / name).read_text().splitlines(), 1):
        if not pending:
            start = number
        line = pending + raw.strip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        if not line or line.startswith("#"):
            continue
        command, _, rest = line.partition(" ")
        yield start, command, rest.split()


def _hex(args: list[str]) -> bytes:
    return b"" if args == ["''"] else bytes.fromhex("".join(args))


def _verify_cases() -> list[tuple[int, dict[str, object]]]:
    cases, state = [], {}
    for number, command, args in _lines("verify.txt"):
        if command in ("verify", "verifyprefix"):
            cases.append((number, {**state, "command": command, "want": args == ["true"]}))
        elif command == "val":
            state["val"] = None if args == ["-"] else _hex(args)
        else:
            state[command] = _hex(args)
    return cases


def _treehash_cases() -> list[tuple[int, list[tuple[bytes, bytes]], bytes]]:
    cases, kvs = [], []
    for number, command, args in _lines("treehash.txt"):
        if command == "kv":
            kvs.append((_hex(args[:1]), _hex(args[1:])))
        else:
            assert command == "hash"
            cases.append((number, kvs, _hex(args)))
            kvs = []
    return cases


def _prefix_trees() -> list[tuple[int, list[tuple[bytes, bytes]], bytes, list[list[bytes]]]]:
    """(line, kvs, snap, [[prefix, hash, proof], ...]) per tree."""
    trees: list[tuple[int, list[tuple[bytes, bytes]], bytes, list[list[bytes]]]] = []
    kvs: list[tuple[bytes, bytes]] = []
    for number, command, args in _lines("prefix.txt"):
        if command == "kv":
            kvs.append((_hex(args[:1]), _hex(args[1:])))
        elif command == "snap":
            trees.append((number, kvs, _hex(args), []))
            kvs = []
        elif command == "prefix":
            trees[-1][3].append([_hex(args)])
        else:
            assert command in ("hash", "proof"), command
            trees[-1][3][-1].append(_hex(args))
    return trees


VERIFY = _verify_cases()
TREEHASH = _treehash_cases()
PREFIX = _prefix_trees()


def test_the_vector_files_hold_what_their_headers_promise() -> None:
    # Guards the parser: a silently empty parse would make every test below vacuous.
    assert len(VERIFY) > 100
    assert sum(c["command"] == "verifyprefix" for _, c in VERIFY) > 10
    assert sum(not c["want"] for _, c in VERIFY) > 20
    assert len(TREEHASH) > 20
    assert len(PREFIX) > 10
    assert sum(len(groups) for *_, groups in PREFIX) > 500


@pytest.mark.parametrize(("line", "case"), VERIFY, ids=[f"line{n}" for n, _ in VERIFY])
def test_verify_vectors(line: int, case: dict[str, object]) -> None:
    snap, proof = cast(bytes, case["snap"]), cast(bytes, case["proof"])
    try:
        if case["command"] == "verify":
            key, val = cast(bytes, case["key"]), cast("bytes | None", case["val"])
            mpt.verify_lookup(snap, key, val, proof)
        else:
            prefix, subtree = cast(bytes, case["prefix"]), cast(bytes, case["hash"])
            mpt.verify_prefix(snap, prefix, subtree, proof)
        ok = True
    except (mpt.MPTProofError, mpt.MPTLookupError):
        ok = False
    assert ok is case["want"]


@pytest.mark.parametrize(("line", "kvs", "want"), TREEHASH, ids=[f"line{n}" for n, *_ in TREEHASH])
def test_treehash_vectors(line: int, kvs: list[tuple[bytes, bytes]], want: bytes) -> None:
    ordered = sorted(kvs, key=_sort_key(kvs))  # as upstream's TestTreeHash does
    assert mpt.tree_hash(ordered) == want
    assert Tree.from_sorted(ordered).snapshot() == want
    tree = Tree()
    for key, val in reversed(kvs):  # another insertion order, the same tree
        tree.set(key, val)
    assert tree.snapshot() == want


@pytest.mark.parametrize(
    ("line", "kvs", "snap", "groups"), PREFIX, ids=[f"line{n}" for n, *_ in PREFIX]
)
def test_prefix_vectors(
    line: int, kvs: list[tuple[bytes, bytes]], snap: bytes, groups: list[list[bytes]]
) -> None:
    tree = Tree()
    for key, val in kvs:
        tree.set(key, val)
    assert tree.snapshot() == snap
    ordered = list(tree.items())
    assert ordered == sorted(kvs, key=_sort_key(kvs))
    for prefix, want_hash, want_proof in groups:
        subtree, proof = mpt.prove_prefix(prefix, tree.path(prefix))
        assert (subtree, proof) == (want_hash, want_proof), prefix.hex()
        mpt.verify_prefix(snap, prefix, subtree, proof)
        under = [(k, v) for k, v in ordered if mpt.has_prefix(k, prefix)]
        assert mpt.tree_hash(under) == subtree


def _sort_key(kvs: list[tuple[bytes, bytes]]) -> object:
    import functools

    return functools.cmp_to_key(lambda a, b: mpt.key_compare(a[0], b[0]))
