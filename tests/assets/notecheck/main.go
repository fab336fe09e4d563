// Opens a signed note with golang.org/x/mod/sumdb/note: the interop check for cosigned checkpoints.
// Usage: go run . NOTE_FILE VKEY...  Prints JSON: the verified signers and the unverified count.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"golang.org/x/mod/sumdb/note"
)

func main() {
	msg, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var verifiers []note.Verifier
	for _, vkey := range os.Args[2:] {
		v, err := note.NewVerifier(vkey)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		verifiers = append(verifiers, v)
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
