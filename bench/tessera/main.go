// tessera-append appends length-prefixed entries to a Tessera POSIX log and reports how fast.
//
// The peer of the ledger's audit-log path in bench/vs_tessera.py: the same entries (the exact
// Kafka message bytes the ledger's log holds), appended durably (Tessera's POSIX storage
// fsyncs every file and directory it writes) and integrated into a tlog-tiles Merkle tree with
// a signed checkpoint. Entries are added as fast as Tessera takes them, in batches of -batch
// entries (or whatever arrived within -batch_age); the run ends once the last entry is
// integrated and a checkpoint covering all of them is published.
//
// Input: a file of entries, each a 4-byte big-endian length and the bytes.
// Output (stdout, one JSON object): entries, seconds, and the tree size of the final checkpoint.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"
)

func main() {
	dir := flag.String("storage_dir", "", "Empty directory for the log.")
	input := flag.String("entries", "", "File of length-prefixed entries.")
	key := flag.String("private_key", "", "Note signer key file (a golang.org/x/mod/sumdb/note private key).")
	batch := flag.Uint("batch", 1024, "Entries per integration batch.")
	batchAge := flag.Duration("batch_age", 100*time.Millisecond, "Longest an entry waits for its batch.")
	flag.Parse()
	if err := run(*dir, *input, *key, *batch, *batchAge); err != nil {
		fmt.Fprintln(os.Stderr, "tessera-append:", err)
		os.Exit(1)
	}
}

func readEntries(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var out [][]byte
	var n [4]byte
	for {
		if _, err := io.ReadFull(r, n[:]); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		b := make([]byte, binary.BigEndian.Uint32(n[:]))
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
}

func run(dir, input, keyFile string, batch uint, batchAge time.Duration) error {
	ctx := context.Background()
	k, err := os.ReadFile(keyFile)
	if err != nil {
		return err
	}
	signer, err := note.NewSigner(string(k))
	if err != nil {
		return err
	}
	entries, err := readEntries(input)
	if err != nil {
		return err
	}
	driver, err := posix.New(ctx, posix.Config{Path: dir})
	if err != nil {
		return err
	}
	opts := tessera.NewAppendOptions().
		WithCheckpointSigner(signer).
		WithBatching(batch, batchAge).
		WithCheckpointInterval(100 * time.Millisecond).
		WithPushback(uint(len(entries)) + 1)
	start := time.Now()
	appender, shutdown, reader, err := tessera.NewAppender(ctx, driver, opts)
	if err != nil {
		return err
	}
	await := tessera.NewPublicationAwaiter(ctx, reader.ReadCheckpoint, 20*time.Millisecond)
	futures := make([]tessera.IndexFuture, len(entries))
	for i, e := range entries {
		futures[i] = appender.Add(ctx, tessera.NewEntry(e))
	}
	var size uint64
	for _, f := range futures {
		idx, _, err := await.Await(ctx, f)
		if err != nil {
			return err
		}
		if idx.Index+1 > size {
			size = idx.Index + 1
		}
	}
	seconds := time.Since(start).Seconds()
	if err := shutdown(ctx); err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"entries": len(entries), "seconds": seconds, "tree_size": size,
	})
}
