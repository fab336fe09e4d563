package main

// `go run . tiles BASE_URL TOKEN LOG_VKEY INDEX`: reads a log served as c2sp.org/tlog-tiles with
// filippo.io/torchwood's tile client, checks the checkpoint's signature, recomputes its root
// from the hash tiles (golang.org/x/mod/sumdb/tlog), and fetches entry INDEX from its entry
// bundle with an inclusion proof checked against the checkpoint.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

func check(err error, what string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
		os.Exit(1)
	}
}

func runTiles(args []string) {
	base, token, vkey := args[0], args[1], args[2]
	index, err := strconv.ParseInt(args[3], 10, 64)
	check(err, "index")
	hc := &http.Client{Transport: bearer{token, http.DefaultTransport}, Timeout: 30 * time.Second}
	tf, err := torchwood.NewTileFetcher(base, torchwood.WithHTTPClient(hc))
	check(err, "tile fetcher")
	ctx := context.Background()
	signed, err := tf.ReadEndpoint(ctx, "checkpoint")
	check(err, "checkpoint")
	v, err := note.NewVerifier(vkey)
	check(err, "log key")
	n, err := note.Open(signed, note.VerifierList(v))
	check(err, "checkpoint signature")
	cp, err := torchwood.ParseCheckpoint(n.Text)
	check(err, "checkpoint body")
	root, err := tlog.TreeHash(cp.N, torchwood.TileHashReaderWithContext(ctx, cp.Tree, tf))
	check(err, "tree hash from tiles")
	if root != cp.Hash {
		check(fmt.Errorf("tiles give %v, the checkpoint signs %v", root, cp.Hash), "root")
	}
	client, err := torchwood.NewClient(tf)
	check(err, "client")
	entry, _, err := client.Entry(ctx, cp.Tree, index)
	check(err, "entry")
	sum := sha256.Sum256(entry)
	out, _ := json.Marshal(map[string]any{"size": cp.N, "entry_sha256": hex.EncodeToString(sum[:])})
	fmt.Println(string(out))
}
