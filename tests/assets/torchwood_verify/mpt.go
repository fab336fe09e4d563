package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"io"
	"slices"

	"example.gov/disclosure-ledger/torchwood_verify/mpt"
)

// A request names an op and its hex arguments:
//
//	{"op": "lookup", "snap", "key", "val" (null: absent), "proof"} -> {"ok": bool, "error"}
//	{"op": "prefix", "snap", "prefix", "hash", "proof"}             -> {"ok": bool, "error"}
//	{"op": "provelookup", "key", "path"}   -> {"val" (null: absent), "proof"}
//	{"op": "proveprefix", "prefix", "path"} -> {"hash", "proof"}
//	{"op": "treehash", "kvs": [[key, val], ...]} (any order; sorted here) -> {"hash"}
type request struct {
	Op     string      `json:"op"`
	Snap   string      `json:"snap"`
	Key    string      `json:"key"`
	Val    *string     `json:"val"`
	Proof  string      `json:"proof"`
	Prefix string      `json:"prefix"`
	Hash   string      `json:"hash"`
	Path   string      `json:"path"`
	KVs    [][2]string `json:"kvs"`
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		fail(2, "bad hex: "+s)
	}
	return b
}

func hash(s string) mpt.Hash {
	b := unhex(s)
	if len(b) != 32 {
		fail(2, "a hash must be 32 bytes: "+s)
	}
	return mpt.Hash(b)
}

func result(err error) map[string]any {
	if err != nil {
		return map[string]any{"ok": false, "error": err.Error()}
	}
	return map[string]any{"ok": true}
}

func runMPT(in io.Reader, out io.Writer) {
	scan := bufio.NewScanner(in)
	scan.Buffer(make([]byte, 1<<20), 1<<26)
	enc := json.NewEncoder(out)
	for scan.Scan() {
		var r request
		if err := json.Unmarshal(scan.Bytes(), &r); err != nil {
			fail(2, err.Error())
		}
		var answer map[string]any
		switch r.Op {
		case "lookup":
			var val []byte
			if r.Val != nil {
				val = unhex(*r.Val)
			}
			snap := mpt.Snapshot{Hash: hash(r.Snap)}
			answer = result(mpt.VerifyLookup(snap, unhex(r.Key), val, r.Val != nil, unhex(r.Proof)))
		case "prefix":
			snap := mpt.Snapshot{Hash: hash(r.Snap)}
			answer = result(mpt.VerifyPrefix(snap, unhex(r.Prefix), hash(r.Hash), unhex(r.Proof)))
		case "provelookup":
			val, ok, proof, err := mpt.ProveLookup(unhex(r.Key), unhex(r.Path))
			if err != nil {
				fail(1, err.Error())
			}
			var v any
			if ok {
				v = hex.EncodeToString(val)
			}
			answer = map[string]any{"val": v, "proof": hex.EncodeToString(proof)}
		case "proveprefix":
			h, proof, err := mpt.ProvePrefix(unhex(r.Prefix), unhex(r.Path))
			if err != nil {
				fail(1, err.Error())
			}
			answer = map[string]any{"hash": h.String(), "proof": hex.EncodeToString(proof)}
		case "treehash":
			var kvs []mpt.KeyVal
			for _, kv := range r.KVs {
				kvs = append(kvs, mpt.KeyVal{Key: unhex(kv[0]), Val: unhex(kv[1])})
			}
			slices.SortFunc(kvs, mpt.KeyVal.CompareKey)
			answer = map[string]any{"hash": mpt.TreeHash(slices.Values(kvs)).String()}
		default:
			fail(2, "unknown op "+r.Op)
		}
		if err := enc.Encode(answer); err != nil {
			fail(2, err.Error())
		}
	}
	if err := scan.Err(); err != nil {
		fail(2, err.Error())
	}
}
