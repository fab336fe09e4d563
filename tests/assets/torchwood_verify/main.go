// Command torchwood_verify checks the ledger's Merkle Patricia Tree proofs and its
// c2sp.org/tlog-proof@v1 files with filippo.io/torchwood v0.10.0, code we did not write.
//
//	go run . mpt < requests.jsonl
//	go run . tlogproof PROOF_FILE RECORD_HASH_HEX ORIGIN LOG_VKEY [WITNESS_VKEY...]
//
// mpt reads one JSON request per line and writes one JSON answer per line (see mpt.go).
// tlogproof runs torchwood.VerifyProof with a policy of the log key (and the checkpoint's
// origin) and, when witness keys are given, all of those witnesses; it exits 0 when the proof
// verifies and 1 (with the error on stderr) when it does not.
//
// torchwood's mpt package is marked `//go:build ignore` in v0.10.0, so it is not part of the
// module's build: tests/unit/test_torchwood_go.py copies mpt/tree.go from the Go module cache
// into ./mpt (build tag removed) before running. Upstream code is not committed here.
package main

import (
	"encoding/hex"
	"fmt"
	"os"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/tlog"
)

func main() {
	if len(os.Args) < 2 {
		fail(2, "usage: torchwood_verify mpt | tlogproof ...")
	}
	switch os.Args[1] {
	case "mpt":
		runMPT(os.Stdin, os.Stdout)
	case "tlogproof":
		runTlogProof(os.Args[2:])
	default:
		fail(2, "unknown command "+os.Args[1])
	}
}

func runTlogProof(args []string) {
	if len(args) < 4 {
		fail(2, "usage: torchwood_verify tlogproof PROOF_FILE RECORD_HASH_HEX ORIGIN LOG_VKEY [WITNESS_VKEY...]")
	}
	proof, err := os.ReadFile(args[0])
	if err != nil {
		fail(2, err.Error())
	}
	raw, err := hex.DecodeString(args[1])
	if err != nil || len(raw) != tlog.HashSize {
		fail(2, "RECORD_HASH_HEX must be 32 bytes of hex")
	}
	logKey, err := torchwood.NewLogVerifier(args[3])
	if err != nil {
		fail(2, err.Error())
	}
	policy := torchwood.ThresholdPolicy(2, torchwood.OriginPolicy(args[2]), torchwood.SingleVerifierPolicy(logKey))
	if len(args) > 4 {
		var witnesses []torchwood.Policy
		for _, vkey := range args[4:] {
			w, err := torchwood.NewCosignatureVerifier(vkey)
			if err != nil {
				fail(2, err.Error())
			}
			witnesses = append(witnesses, torchwood.SingleVerifierPolicy(w))
		}
		all := torchwood.ThresholdPolicy(len(witnesses), witnesses...)
		policy = torchwood.ThresholdPolicy(2, policy, all)
	}
	if err := torchwood.VerifyProof(policy, tlog.Hash(raw), proof); err != nil {
		fail(1, err.Error())
	}
	fmt.Println("OK")
}

func fail(code int, msg string) {
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(code)
}
