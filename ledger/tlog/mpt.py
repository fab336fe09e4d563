"""A Merkle Patricia Tree's hashes and proofs, wire-compatible with torchwood's ``mpt`` package
(filippo.io/torchwood v0.10.0, ``mpt/tree.go``), whose package comment defines the format.

A key is compared as if followed by one 0x00 byte and then 0xFF bytes forever, so no key is a
prefix of another. Hashes (H = SHA-256, lengths and bit indexes as unsigned varints):

- empty tree: H("")
- leaf: H(0x00 || len(key) || key || len(val) || val)
- inner node splitting at bit B: H(0x01 || B || left || right)

A path proof is ``len(key) || key || len(val) || val || B1 || H1 || ... || BN || HN``, from the
leaf up to the root (B strictly decreasing). A presence proof is the path without the key-value
pair; an absence proof is the whole path to the leaf a lookup for the key reaches instead.
Everything here is pure: the mutable tree is in ``mpt_tree``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from ledger.errors import VerificationError

MAX_KEY_LEN = 1024
MAX_VAL_LEN = 1024
# A MAX_KEY_LEN key ending in 0x00 and its one-byte-shorter prefix differ only in the padding.
MAX_KEY_BITS = MAX_KEY_LEN * 8 + 1
_ANY_BIT = 1 << 30  # no bound of verify_path's own: far above any bit index a tree can use
EMPTY_TREE_HASH = hashlib.sha256(b"").digest()


class MPTProofError(VerificationError):
    """An MPT proof does not verify for the claimed result (torchwood's ErrInvalidProof)."""


class MPTLookupError(VerificationError):
    """A lookup claims absence but carries a value (torchwood's ErrInvalidLookup)."""


class MPTPathError(VerificationError):
    """A path proof given to prove_lookup or prove_prefix is malformed (ErrInvalidPath)."""


class MPTKeyOrderError(ValueError):
    """Key-value pairs are out of order or repeat a key (torchwood's ErrKeyOrder)."""


# --- encoding ----------------------------------------------------------------------------------


def uvarint(n: int) -> bytes:
    """Go's binary.PutUvarint."""
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def read_uvarint(data: bytes, pos: int) -> tuple[int, int]:
    """Go's binary.Uvarint at ``data[pos:]``: (value, bytes read), bytes read <= 0 when the
    input ends early (0) or overflows 64 bits (< 0). Like Go it accepts non-minimal encodings,
    so a proof verifies here exactly when it verifies there."""
    x = shift = 0
    for i in range(10):
        if pos + i >= len(data):
            return 0, 0
        b = data[pos + i]
        if b < 0x80:
            if i == 9 and b > 1:
                return 0, -(i + 1)
            return x | (b << shift), i + 1
        x |= (b & 0x7F) << shift
        shift += 7
    return 0, -11


def cut_var(data: bytes, pos: int) -> tuple[bytes, int] | None:
    """A varint-length-prefixed byte string at ``data[pos:]`` and the position after it."""
    n, read = read_uvarint(data, pos)
    if read <= 0:
        return None
    start = pos + read
    if len(data) - start < n:
        return None
    return data[start : start + n], start + n


def cut_leaf(path: bytes) -> tuple[bytes, bytes, int] | None:
    """The key and value a path proof starts with, and where its steps begin."""
    k = cut_var(path, 0)
    if k is None:
        return None
    v = cut_var(path, k[1])
    if v is None:
        return None
    return k[0], v[0], v[1]


def encode_leaf(key: bytes, val: bytes) -> bytes:
    return uvarint(len(key)) + key + uvarint(len(val)) + val


def encode_step(b: int, sibling: bytes) -> bytes:
    return uvarint(b) + sibling


# --- keys --------------------------------------------------------------------------------------


def bit(key: bytes, n: int) -> int:
    """Bit ``n`` (0 = most significant of byte 0) of ``key`` padded with 0x00, 0xFF, 0xFF, ..."""
    i = n >> 3
    if i < len(key):
        return (key[i] >> (7 - (n & 7))) & 1
    return 0 if i == len(key) else 1


def _lead(x: int) -> int:
    return 8 - x.bit_length()  # leading zero bits of a nonzero byte


def key_cmp(p: bytes, q: bytes) -> tuple[int, int]:
    """Compare padded keys: (-1, 0 or +1, number of leading bits in common)."""
    short, long, fix = (p, q, 1) if len(p) <= len(q) else (q, p, -1)
    for i, (a, b) in enumerate(zip(short, long, strict=False)):
        if a != b:
            return (-1 if a < b else 1) * fix, i * 8 + _lead(a ^ b)
    if len(short) == len(long):
        return 0, MAX_KEY_BITS
    n = len(short)
    if long[n] != 0:  # short's padding 0x00 against a nonzero byte
        return -fix, n * 8 + _lead(long[n])
    for i in range(n + 1, len(long)):
        if long[i] != 0xFF:  # short's padding 0xFF against a smaller byte
            return fix, i * 8 + _lead(0xFF ^ long[i])
    # long is short's padding for all its length; then short has 0xFF where long has 0x00.
    return fix, len(long) * 8


def key_compare(p: bytes, q: bytes) -> int:
    return key_cmp(p, q)[0]


def overlap(p: bytes, q: bytes) -> int:
    return key_cmp(p, q)[1]


def has_prefix(key: bytes, prefix: bytes) -> bool:
    """torchwood's Key.HasPrefix: a byte prefix, or ``key`` padded starts with ``prefix``."""
    if key.startswith(prefix):
        return True
    n = len(key)
    return (
        len(prefix) > n
        and prefix[:n] == key
        and prefix[n] == 0
        and all(c == 0xFF for c in prefix[n + 1 :])
    )


# --- hashes ------------------------------------------------------------------------------------


def hash_leaf(key: bytes, val: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + encode_leaf(key, val)).digest()


def hash_inner(b: int, left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + uvarint(b) + left + right).digest()


def tree_hash(items: Iterable[tuple[bytes, bytes]]) -> bytes:
    """The snapshot hash of the tree holding ``items``, sorted by key_compare without repeats.

    A stack of (prefix bits, a key under it, hash): two neighbours merge once the next key
    shares fewer bits with them than they share with each other (torchwood's reduce)."""
    stack: list[tuple[int, bytes, bytes]] = []
    last: bytes | None = None
    for key, val in items:
        if last is not None and key_compare(last, key) >= 0:
            raise MPTKeyOrderError("MPT keys are out of order or repeated.")
        last = key
        stack.append((MAX_KEY_BITS, key, hash_leaf(key, val)))
        while len(stack) >= 3 and _shared(stack[-3], stack[-2]) > _shared(stack[-2], stack[-1]):
            right = stack.pop()
            merged = _merge(stack[-2], stack[-1])
            stack[-2:] = [merged, right]
    if not stack:
        return EMPTY_TREE_HASH
    while len(stack) >= 2:
        right = stack.pop()
        stack[-1] = _merge(stack[-1], right)
    return stack[0][2]


def _shared(x: tuple[int, bytes, bytes], y: tuple[int, bytes, bytes]) -> int:
    return min(x[0], y[0], overlap(x[1], y[1]))


def _merge(x: tuple[int, bytes, bytes], y: tuple[int, bytes, bytes]) -> tuple[int, bytes, bytes]:
    b = _shared(x, y)
    return b, x[1], hash_inner(b, x[2], y[2])


# --- proofs ------------------------------------------------------------------------------------


def prove_lookup(key: bytes, path: bytes) -> tuple[bytes | None, bytes]:
    """Reduce ``path`` (the tree's path for ``key``) to (value, proof): value None when absent."""
    if not path:
        return None, b""
    leaf = cut_leaf(path)
    if leaf is None:
        raise MPTPathError("The MPT path proof is malformed.")
    pkey, pval, rest = leaf
    if pkey != key:
        return None, path  # the lookup ended at another key: the whole path proves absence
    return pval, path[rest:]  # the verifier rehashes the key and value it is given


def _cut_step(path: bytes, pos: int) -> tuple[int, bytes, int] | None:
    b, read = read_uvarint(path, pos)
    if read <= 0 or b >= MAX_KEY_BITS or len(path) - pos - read < 32:
        return None
    start = pos + read
    return b, path[start : start + 32], start + 32


def prove_prefix(prefix: bytes, path: bytes) -> tuple[bytes, bytes]:
    """Reduce ``path`` (the tree's path for ``prefix`` as a key) to (subtree hash, proof)."""
    if not path:
        return EMPTY_TREE_HASH, b""
    leaf = cut_leaf(path)
    if leaf is None:
        raise MPTPathError("The MPT path proof is malformed.")
    pkey, pval, pos = leaf
    if not has_prefix(pkey, prefix):
        return EMPTY_TREE_HASH, path
    # Steps splitting at or past the prefix's end are inside the subtree; the first earlier
    # one is the subtree's parent, so the hash before it is the subtree's.
    pbits = 8 * len(prefix)
    h = hash_leaf(pkey, pval)
    while pos < len(path):
        step = _cut_step(path, pos)
        if step is None:
            raise MPTPathError("The MPT path proof is malformed.")
        b, sib, nxt = step
        if b < pbits:
            break
        h = hash_inner(b, h, sib) if bit(pkey, b) == 0 else hash_inner(b, sib, h)
        pos = nxt
    return h, path[pos:]


def verify_path(h: bytes, key: bytes, pkey: bytes, max_bit: int, proof: bytes) -> bytes:
    """The root hash the steps in ``proof`` lead to from ``h``: bit indexes strictly decrease
    from below ``max_bit``, and ``key`` picks each sibling's side and must agree with ``pkey``
    (the key whose leaf the path ends at) at every one."""
    b, pos = max_bit, 0
    while pos < len(proof):
        ub, read = read_uvarint(proof, pos)
        if read <= 0 or ub >= b:
            raise MPTProofError("The MPT proof's bit indexes are malformed.")
        b, pos = ub, pos + read
        if len(proof) - pos < 32:
            raise MPTProofError("The MPT proof is truncated.")
        sib, pos = proof[pos : pos + 32], pos + 32
        side = bit(key, b)
        if side != bit(pkey, b):
            raise MPTProofError("The MPT proof's path does not lead to the key.")
        h = hash_inner(b, h, sib) if side == 0 else hash_inner(b, sib, h)
    return h


def verify_lookup(snapshot: bytes, key: bytes, val: bytes | None, proof: bytes) -> None:
    """Check that a lookup for ``key`` in the tree of hash ``snapshot`` gives ``val`` (None:
    absent). Raises MPTProofError (or MPTLookupError) unless it does; torchwood's VerifyLookup
    with ok = val is not None."""
    if val is None:
        if not proof:
            if snapshot == EMPTY_TREE_HASH:
                return
            raise MPTProofError("An empty MPT proof proves absence only in the empty tree.")
        leaf = cut_leaf(proof)
        if leaf is None:
            raise MPTProofError("The MPT absence proof does not start with a key and value.")
        pkey, pval, pos = leaf
        if pkey == key:
            raise MPTProofError("The MPT absence proof ends at the key itself.")
        h, proof = hash_leaf(pkey, pval), proof[pos:]
    else:
        pkey, h = key, hash_leaf(key, val)
    if verify_path(h, key, pkey, _ANY_BIT, proof) != snapshot:
        raise MPTProofError("The MPT proof does not lead to the snapshot hash.")


def verify_prefix(snapshot: bytes, prefix: bytes, subtree: bytes, proof: bytes) -> None:
    """Check that ``subtree`` is the hash of a subtree of ``snapshot`` holding every key that
    starts with ``prefix`` (it may hold others: see torchwood's "One-Sided Weakness")."""
    if subtree == EMPTY_TREE_HASH:
        if not proof:
            if snapshot == EMPTY_TREE_HASH:
                return
            raise MPTProofError("An empty MPT proof proves absence only in the empty tree.")
        leaf = cut_leaf(proof)
        if leaf is None:
            raise MPTProofError("The MPT prefix proof does not start with a key and value.")
        altkey, altval, pos = leaf
        if has_prefix(altkey, prefix):
            raise MPTProofError("The MPT prefix absence proof ends at a key with the prefix.")
        h = verify_path(hash_leaf(altkey, altval), prefix, altkey, _ANY_BIT, proof[pos:])
    else:
        # Every step must split inside the prefix, or the subtree could leave keys out.
        h = verify_path(subtree, prefix, prefix, 8 * len(prefix), proof)
    if h != snapshot:
        raise MPTProofError("The MPT prefix proof does not lead to the snapshot hash.")
