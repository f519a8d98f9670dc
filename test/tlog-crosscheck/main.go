// Cross-check of the forfait structure's verifiable log against Go's reference code for
// transparency logs (golang.org/x/mod/sumdb/tlog and sumdb/note, as Debian packages them in
// golang-golang-x-mod-dev): the signed checkpoint, inclusion proofs and a consistency proof served
// by the running system, read from stdin as JSON. Run by test/tlog-crosscheck.e2e-spec.ts:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run test/tlog-crosscheck/main.go < input.json
//
// Prints one line per check; exits 1 on the first that fails.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type inclusion struct {
	LeafIndex int64    `json:"leafIndex"`
	TreeSize  int64    `json:"treeSize"`
	Leaf      string   `json:"leaf"`
	LeafHash  string   `json:"leafHash"`
	Proof     []string `json:"proof"`
}

type input struct {
	Vkey        string      `json:"vkey"`
	Checkpoints []string    `json:"checkpoints"`
	Inclusions  []inclusion `json:"inclusions"`
	Consistency struct {
		From  int64    `json:"from"`
		To    int64    `json:"to"`
		Proof []string `json:"proof"`
	} `json:"consistency"`
}

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL "+format+"\n", args...)
	os.Exit(1)
}

func hashOf(b64 string) tlog.Hash {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != tlog.HashSize {
		fail("not a base64 SHA-256: %q", b64)
	}
	var h tlog.Hash
	copy(h[:], raw)
	return h
}

func hashes(list []string) []tlog.Hash {
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		out[i] = hashOf(s)
	}
	return out
}

// A C2SP tlog-checkpoint body: origin, size, base64 root, then optional extension lines.
func parseCheckpoint(text string) (origin string, size int64, root tlog.Hash) {
	lines := strings.Split(text, "\n")
	if len(lines) < 4 {
		fail("checkpoint body has %d lines", len(lines))
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size %q", lines[1])
	}
	return lines[0], size, hashOf(lines[2])
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fail("input: %v", err)
	}
	verifier, err := note.NewVerifier(in.Vkey)
	if err != nil {
		fail("note.NewVerifier(%q): %v", in.Vkey, err)
	}
	roots := map[int64]tlog.Hash{}
	for _, text := range in.Checkpoints {
		// note.Open checks the log's Ed25519 signature; the witnesses' cosignature/v1 lines are
		// unknown to this package and left in UnverifiedSigs.
		n, err := note.Open([]byte(text), note.VerifierList(verifier))
		if err != nil {
			fail("note.Open: %v", err)
		}
		origin, size, root := parseCheckpoint(n.Text)
		if origin != verifier.Name() {
			fail("checkpoint origin %q, key name %q", origin, verifier.Name())
		}
		roots[size] = root
		fmt.Printf("ok checkpoint size=%d signed by %s (%d other signature line(s) not checked here)\n", size, verifier.Name(), len(n.UnverifiedSigs))
		// A checkpoint edited anywhere does not open.
		edited := strings.Replace(text, "\n"+strconv.FormatInt(size, 10)+"\n", "\n"+strconv.FormatInt(size+1, 10)+"\n", 1)
		if _, err := note.Open([]byte(edited), note.VerifierList(verifier)); err == nil {
			fail("an edited checkpoint of size %d still verifies", size)
		}
	}
	for _, p := range in.Inclusions {
		root, ok := roots[p.TreeSize]
		if !ok {
			fail("no checkpoint of size %d for the inclusion proof of leaf %d", p.TreeSize, p.LeafIndex)
		}
		leaf, err := base64.StdEncoding.DecodeString(p.Leaf)
		if err != nil {
			fail("leaf %d: %v", p.LeafIndex, err)
		}
		h := tlog.RecordHash(leaf) // SHA-256(0x00 ‖ leaf), RFC 6962
		if h != hashOf(p.LeafHash) {
			fail("leaf %d: RecordHash %s, served leafHash %s", p.LeafIndex, h, p.LeafHash)
		}
		proof := tlog.RecordProof(hashes(p.Proof))
		if err := tlog.CheckRecord(proof, p.TreeSize, root, p.LeafIndex, h); err != nil {
			fail("tlog.CheckRecord(leaf %d, tree %d): %v", p.LeafIndex, p.TreeSize, err)
		}
		if len(proof) > 0 {
			bad := append(tlog.RecordProof{}, proof...)
			bad[0][0] ^= 1
			if tlog.CheckRecord(bad, p.TreeSize, root, p.LeafIndex, h) == nil {
				fail("an altered inclusion proof of leaf %d still verifies", p.LeafIndex)
			}
		}
		if tlog.CheckRecord(proof, p.TreeSize, root, p.LeafIndex, tlog.RecordHash(append(append([]byte{}, leaf...), ' '))) == nil {
			fail("another leaf verifies with the proof of leaf %d", p.LeafIndex)
		}
		fmt.Printf("ok inclusion leaf=%d tree=%d (%d hashes)\n", p.LeafIndex, p.TreeSize, len(proof))
	}
	c := in.Consistency
	from, ok1 := roots[c.From]
	to, ok2 := roots[c.To]
	if !ok1 || !ok2 {
		fail("no checkpoints of sizes %d and %d for the consistency proof", c.From, c.To)
	}
	proof := tlog.TreeProof(hashes(c.Proof))
	if err := tlog.CheckTree(proof, c.To, to, c.From, from); err != nil {
		fail("tlog.CheckTree(%d → %d): %v", c.From, c.To, err)
	}
	if len(proof) > 0 {
		bad := append(tlog.TreeProof{}, proof...)
		bad[len(bad)-1][0] ^= 1
		if tlog.CheckTree(bad, c.To, to, c.From, from) == nil {
			fail("an altered consistency proof still verifies")
		}
	}
	fmt.Printf("ok consistency %d -> %d (%d hashes)\n", c.From, c.To, len(proof))
}
