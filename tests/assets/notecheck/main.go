// Opens a signed note with golang.org/x/mod/sumdb/note, checking witnesses' cosignatures with
// filippo.io/torchwood: the interop check for cosigned checkpoints.
// Usage: go run . NOTE_FILE VKEY... (or `go run . tiles ...`, see tiles.go)  A log vkey (type 0x01) or a witness vkey (0x04, cosignature/v1).
// Prints JSON: the verified signers and the count of signatures from keys not given.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "tiles" {
		runTiles(os.Args[2:])
		return
	}
	msg, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var verifiers []note.Verifier
	for _, vkey := range os.Args[2:] {
		if v, err := note.NewVerifier(vkey); err == nil {
			verifiers = append(verifiers, v)
			continue
		}
		w, err := torchwood.NewCosignatureVerifier(vkey)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		verifiers = append(verifiers, w)
	}
	n, err := note.Open(msg, note.VerifierList(verifiers...))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	names := []string{}
	for _, s := range n.Sigs {
		names = append(names, s.Name)
	}
	out, _ := json.Marshal(map[string]any{"text": n.Text, "verified": names, "unverified": len(n.UnverifiedSigs)})
	fmt.Println(string(out))
}
