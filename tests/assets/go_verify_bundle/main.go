// Command go_verify_bundle checks an export bundle's checkpoints and inclusion proofs with Go's
// golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog only: none of the ledger's code.
//
// Usage: go run . BUNDLE_DIR VKEY
// It opens SHA256SUMS.note (the bundle's file list, a signed note) with the verifier key and
// checks that the bundle holds exactly the files it lists, all regular files, with the SHA-256
// it lists. Then for every logs/<topic>/<partition>/checkpoint it opens the signed note with
// the verifier key, parses the tlog-checkpoint body, and checks every line of the log's
// inclusion.jsonl with tlog.CheckRecord against the signed root. It prints "OK <n> proofs" or
// exits 1 naming the first failure.
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
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

const signedListHeader = "disclosure-ledger-bundle/1 signed file list"

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// checkSignedList opens SHA256SUMS.note and compares its list with the files in dir. Symlinks,
// FIFOs and devices are refused before anything is opened.
func checkSignedList(dir string, verifier note.Verifier) int {
	data, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS.note"))
	if err != nil {
		fail("SHA256SUMS.note: %v", err)
	}
	n, err := note.Open(data, note.VerifierList(verifier))
	if err != nil {
		fail("SHA256SUMS.note: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 2 || lines[0] != signedListHeader || !strings.HasPrefix(lines[1], "profile ") {
		fail("SHA256SUMS.note: not a signed bundle file list")
	}
	signed := map[string]string{}
	for _, line := range lines[2:] {
		digest, name, ok := strings.Cut(line, "  ")
		if !ok || len(digest) != 64 {
			fail("SHA256SUMS.note: bad line %q", line)
		}
		signed[name] = digest
	}
	found := 0
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", rel)
		}
		if rel == "SHA256SUMS" || rel == "SHA256SUMS.note" {
			return nil
		}
		want, ok := signed[rel]
		if !ok {
			return fmt.Errorf("%s is not in the signed file list", rel)
		}
		got, err := fileSHA256(path)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("%s: SHA-256 %s, signed %s", rel, got, want)
		}
		found++
		return nil
	})
	if err != nil {
		fail("%v", err)
	}
	if found != len(signed) {
		fail("SHA256SUMS.note lists %d files, the bundle holds %d", len(signed), found)
	}
	return found
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
	files := checkSignedList(dir, verifier)
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
	fmt.Printf("OK %d proofs against %d signed checkpoints; %d files as signed\n", proofs, len(checkpoints), files)
}
