"""The README.md written into every bundle: how an expert checks it, with or without our code."""

from __future__ import annotations

_COMMON = """\
# Disclosure Ledger export bundle

Profile: **{profile}**. `manifest.json` says what was asked for (filters, time zone, counts, logs,
tool version); `SHA256SUMS` lists every other file with its SHA-256, and `SHA256SUMS.note` is
the same list (and the profile) as a C2SP signed note signed by the log's key: it is what makes
the manifest, the alerts and every entry's labels the ledger's word rather than anyone's.

## Check it with the ledger's own tool (offline: no database, no Kafka)

```bash
pip install disclosure-ledger        # or the agency's published source
ledger verify-bundle . --key 'disclosure-ledger+<hash>+<key>'   # one --key per published key
```

It exits 0 with one line, or names the first failure and exits with its own code: 30 a file
differs from SHA256SUMS (or is missing or unlisted), 31 an entry's bytes do not give its leaf
hash or its event id, 32 a proof does not lead to its checkpoint's root, 33 a checkpoint's
signature or format, 34 an alert cites an entry the bundle lacks, 35 an entry was not written
with a shipped schema, 36 the manifest is malformed or disagrees with the files, 37 the bundle
holds what its profile forbids, 38 `SHA256SUMS.note` is missing, not signed by a given key, or
lists other files or digests than the bundle holds, 50 a file is a symlink, FIFO or device, over
its size cap, or compressed, 51 JSON nested too deep, 2 a bad argument.

## Check it without our code

1. `sha256sum -c SHA256SUMS`, then check that `SHA256SUMS.note` is signed by the log's key
   (Go: `note.Open(data, note.VerifierList(v))`, as for the checkpoints below) and that its
   text is the line `disclosure-ledger-bundle/1 signed file list`, the line `profile <profile>`,
   then exactly the lines of `SHA256SUMS`.
2. Each log's `logs/<topic>/<partition>/checkpoint` is a C2SP signed note (tlog-checkpoint body:
   origin, tree size, base64 root). Go: `note.Open(data, note.VerifierList(v))` with
   `v, _ := note.NewVerifier(vkey)` from `golang.org/x/mod/sumdb/note`.
3. `events.avro` is an Avro object container file (schema `BundleEntry`, embedded): read it
   with the Apache `avro` package, fastavro or `avro-tools tojson`. `value` is the exact Kafka
   message (Avro single-object encoding: C3 01, the 8-byte CRC-64-AVRO fingerprint of the
   writer schema, the body); the writer schemas are in `schemas/<Type>/v<N>.avsc`.
   `leaf_hash` must equal SHA-256(0x00 || value).
4. `logs/<topic>/<partition>/inclusion.jsonl` has one line per exported entry of that log, in
   leaf order: `leaf_index`, `leaf_hash` (base64) and `hashes`, the RFC 9162 section 2.1.3
   audit path (base64, leaf upwards) in the tree of the checkpoint's size. Go:
   `proof.VerifyInclusion(rfc6962.DefaultHasher, index, size, leafHash, hashes, root)` from
   `github.com/transparency-dev/merkle`, or `tlog.CheckRecord` from
   `golang.org/x/mod/sumdb/tlog`. `ledger proof inclusion --bundle DIR --event-id ID --out
   F.tlog-proof` writes one entry's proof as a C2SP tlog-proof@v1 from these files alone (the
   checkpoint inlined, the entry's bytes as its extra data), which torchwood's `VerifyProof`
   and `ledger verify-proof` accept.
5. `logs/<topic>/<partition>/consistency-<N>.json` (when you gave us your earlier checkpoint)
   proves the checkpoint in this bundle extends yours (RFC 9162 2.1.4):
   `proof.VerifyConsistency(rfc6962.DefaultHasher, N, size, hashes, oldRoot, root)`, or
   `ledger verify-proof FILE --key ...`.
6. `alerts.json` lists the alerts whose evidence names an exported entry, each with its
   `status`, `status_changes` and `acknowledgements`; every event id in their `evidence` is an
   exported entry. `rules/` holds the rules configuration in force (SHA-256 in the manifest).
7. Each entry's `event_id` is the `event_id` of the record its bytes decode to, and its
   `event_type` the type of the schema its fingerprint names. Its `offset` (the Kafka offset)
   is not in the bytes: only the signed list vouches for it.
"""

_PROFILE = {
    "auditor": """
## What this profile holds

Every selected entry with its exact bytes, so every check above applies to every entry.
""",
    "protective-order": """
## What this profile holds, and what you can and cannot check

Taxpayer refs are re-keyed for this bundle alone: each becomes HMAC-SHA256(k, ref) under a
random key k that was never written down, so the same person keeps one pseudonym inside this
bundle and two bundles cannot be joined. An entry whose bytes hold a run of 64 hex digits (a
ref, or a manifest digest) cannot carry those bytes without the refs, so it ships its
`leaf_hash` and `redacted_record` (the decoded record, refs re-keyed) instead of `value`.

- You **can** check that every such leaf hash is in the signed log (inclusion proof), and
  every other entry byte for byte.
- You **cannot** check that a `redacted_record` is the decoding of the bytes behind its leaf
  hash: that needs the bytes, which the court can order produced to a neutral party who
  recomputes SHA-256(0x00 || bytes).
""",
    "public": """
## What this profile holds

Daily counts only (`daily_counts.json`: disclosures and records per day, recipient and legal
authority); a count below the threshold in the manifest is suppressed (null). No entry bytes,
no refs, no proofs; the signed checkpoints are included so that a later bundle can be proven to
extend this one.
""",
}


def bundle_readme(profile: str) -> str:
    return _COMMON.format(profile=profile) + _PROFILE[profile]
