// Command go_verify_bundle checks an export bundle's checkpoints and inclusion proofs with Go's
// golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog only: none of the ledger's code.
//
// Usage: go run . BUNDLE_DIR VKEY
// For every logs/<topic>/<partition>/checkpoint it opens the signed note with the verifier key,
// parses the tlog-checkpoint body, and checks every line of the log's inclusion.jsonl with
// tlog.CheckRecord against the signed root. It prints "OK <n> proofs" or exits 1 naming the
// first failure.
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type inclusion struct {
	LeafIndex int64    `json:"leaf_index"`
	LeafHash  string   `json:"leaf_hash"`
	Hashes    []string `json:"hashes"`
}

func hash(b64 string) (tlog.Hash, error) {
	var h tlog.Hash
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != len(h) {
		return h, fmt.Errorf("bad hash %q", b64)
	}
	copy(h[:], raw)
	return h, nil
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 3 {
		fail("usage: go_verify_bundle BUNDLE_DIR VKEY")
	}
	dir, vkey := os.Args[1], os.Args[2]
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		fail("verifier key: %v", err)
	}
	checkpoints, _ := filepath.Glob(filepath.Join(dir, "logs", "*", "*", "checkpoint"))
	if len(checkpoints) == 0 {
		fail("no checkpoints in %s", dir)
	}
	proofs := 0
	for _, path := range checkpoints {
		data, err := os.ReadFile(path)
		if err != nil {
			fail("%s: %v", path, err)
		}
		n, err := note.Open(data, note.VerifierList(verifier))
		if err != nil {
			fail("%s: %v", path, err)
		}
		lines := strings.Split(n.Text, "\n")
		if len(lines) < 4 {
			fail("%s: not a tlog checkpoint", path)
		}
		size, err := strconv.ParseInt(lines[1], 10, 64)
		if err != nil {
			fail("%s: tree size: %v", path, err)
		}
		root, err := hash(lines[2])
		if err != nil {
			fail("%s: root: %v", path, err)
		}
		f, err := os.Open(filepath.Join(filepath.Dir(path), "inclusion.jsonl"))
		if os.IsNotExist(err) {
			continue
		} else if err != nil {
			fail("%v", err)
		}
		scanner := bufio.NewScanner(f)
		scanner.Buffer(make([]byte, 1<<20), 1<<20)
		for scanner.Scan() {
			var p inclusion
			if err := json.Unmarshal(scanner.Bytes(), &p); err != nil {
				fail("%s: %v", f.Name(), err)
			}
			leaf, err := hash(p.LeafHash)
			if err != nil {
				fail("%s leaf %d: %v", f.Name(), p.LeafIndex, err)
			}
			var proof tlog.RecordProof
			for _, h := range p.Hashes {
				x, err := hash(h)
				if err != nil {
					fail("%s leaf %d: %v", f.Name(), p.LeafIndex, err)
				}
				proof = append(proof, x)
			}
			if err := tlog.CheckRecord(proof, size, root, p.LeafIndex, leaf); err != nil {
				fail("%s leaf %d: %v", f.Name(), p.LeafIndex, err)
			}
			proofs++
		}
		f.Close()
	}
	fmt.Printf("OK %d proofs against %d signed checkpoints\n", proofs, len(checkpoints))
}
