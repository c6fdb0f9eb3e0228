// verify_audit checks a tenantai audit log's checkpoints and proofs with code this project did
// not write: golang.org/x/mod/sumdb/note (C2SP signed notes, Ed25519 type 0x01) and
// golang.org/x/mod/sumdb/tlog (RFC 6962 Merkle trees and proofs), plus C2SP tlog-cosignature
// witness cosignatures (cosignature/v1, type 0x04) checked here on crypto/ed25519, following
// c2sp.org/tlog-cosignature (x/mod's note package knows only type 0x01).
//
//	verify_audit <dir>
//
// <dir> holds what audit_interop_driver wrote (log.vkey, checkpoint.old, checkpoint.new,
// proofs.txt, witness.vkey). Every check also runs on a copy with one flipped byte (root, proof
// hash, leaf preimage, signature, timestamp), and that copy must be refused, so the test can
// fail. Prints each check; exits 1 if any check failed.
//
// Proof order: tlog.RecordProof and tlog.TreeProof list hashes from the leaf end up (tlog's
// leafProof/treeProof append the sibling of each level after recursing into the level below),
// which is the RFC 6962 / RFC 9162 audit-path and consistency-proof order that tenantai's
// prove_inclusion / prove_consistency return. So the proofs are passed to tlog as written, with
// no reordering; had the orders differed, the positive checks below would fail.
package main

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var passed, failed int

// ok records a check that must succeed (err == nil).
func ok(what string, err error) {
	if err != nil {
		failed++
		fmt.Printf("FAIL %s: %v\n", what, err)
		return
	}
	passed++
	fmt.Printf("ok   %s\n", what)
}

// refused records a negative check: err must be non-nil (the tampered input was refused).
func refused(what string, err error) {
	if err == nil {
		failed++
		fmt.Printf("FAIL %s: tampered input was accepted\n", what)
		return
	}
	passed++
	fmt.Printf("ok   %s (refused: %v)\n", what, err)
}

func fatal(format string, args ...interface{}) {
	fmt.Printf("FAIL "+format+"\n", args...)
	os.Exit(1)
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func readFile(dir, name string) []byte {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		fatal("read %s: %v", name, err)
	}
	return data
}

// flipHash returns h with one bit of byte i changed.
func flipHash(h tlog.Hash, i int) tlog.Hash {
	h[i%tlog.HashSize] ^= 0x01
	return h
}

// checkpoint is a parsed C2SP tlog-checkpoint body.
type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
	text   string // the note text: the body, final newline included
	note   *note.Note
}

// parseBody parses "origin\nsize\nbase64(root)\n" (tenantai writes no extension lines).
func parseBody(text string) (checkpoint, error) {
	var cp checkpoint
	if !strings.HasSuffix(text, "\n") {
		return cp, errors.New("checkpoint body does not end in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) != 3 {
		return cp, fmt.Errorf("checkpoint body has %d lines, want 3", len(lines))
	}
	if lines[0] == "" {
		return cp, errors.New("empty origin line")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return cp, fmt.Errorf("bad tree size line %q", lines[1])
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		return cp, fmt.Errorf("bad root hash line %q: %v", lines[2], err)
	}
	return checkpoint{origin: lines[0], size: size, root: root, text: text}, nil
}

// openCheckpoint verifies a checkpoint note with x/mod's note package against the log's key
// and checks that the key's name is the checkpoint's origin (C2SP tlog-checkpoint).
func openCheckpoint(msg []byte, v note.Verifier) (checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return checkpoint{}, err
	}
	cp, err := parseBody(n.Text)
	if err != nil {
		return cp, err
	}
	if len(n.Sigs) != 1 || n.Sigs[0].Name != v.Name() {
		return cp, fmt.Errorf("want exactly one signature by %s, got %d", v.Name(), len(n.Sigs))
	}
	if v.Name() != cp.origin {
		return cp, fmt.Errorf("key name %q differs from origin %q", v.Name(), cp.origin)
	}
	cp.note = n
	return cp, nil
}

// tamperSignature flips one byte of the signature (after the 4-byte key ID) on the line signed
// by `name`.
func tamperSignature(msg []byte, name string) []byte {
	lines := strings.SplitAfter(string(msg), "\n")
	prefix := "— " + name + " "
	for i, line := range lines {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(line[len(prefix):], "\n"))
		if err != nil || len(sig) < 10 {
			fatal("cannot parse the signature line of %s", name)
		}
		sig[len(sig)-10] ^= 0x01
		lines[i] = prefix + base64.StdEncoding.EncodeToString(sig) + "\n"
		return []byte(strings.Join(lines, ""))
	}
	fatal("no signature line by %s", name)
	return nil
}

// tamperRootLine changes one byte of the root hash line (third line) of a note.
func tamperRootLine(msg []byte) []byte {
	lines := strings.SplitAfter(string(msg), "\n")
	root, err := tlog.ParseHash(strings.TrimSuffix(lines[2], "\n"))
	if err != nil {
		fatal("cannot parse root line: %v", err)
	}
	lines[2] = flipHash(root, 7).String() + "\n"
	return []byte(strings.Join(lines, ""))
}

func checkCheckpoints(dir string) (old, cur checkpoint) {
	vkey := strings.TrimSpace(string(readFile(dir, "log.vkey")))
	v, err := note.NewVerifier(vkey)
	ok("note.NewVerifier parses the log key "+vkey, err)
	if err != nil {
		os.Exit(1)
	}
	for _, file := range []string{"checkpoint.old", "checkpoint.new"} {
		msg := readFile(dir, file)
		cp, err := openCheckpoint(msg, v)
		ok(fmt.Sprintf("note.Open verifies %s (origin %s, size %d, key name = origin)", file, cp.origin, cp.size), err)
		if err != nil {
			os.Exit(1)
		}
		_, err = openCheckpoint(tamperSignature(msg, v.Name()), v)
		refused("note.Open on "+file+" with a flipped signature byte", err)
		_, err = openCheckpoint(tamperRootLine(msg), v)
		refused("note.Open on "+file+" with a flipped root hash byte", err)
		if file == "checkpoint.old" {
			old = cp
		} else {
			cur = cp
		}
	}
	if old.origin != cur.origin || old.size >= cur.size {
		fatal("checkpoints: old %s/%d, new %s/%d: want one origin and a growing size", old.origin, old.size, cur.origin, cur.size)
	}
	return old, cur
}

// reversed returns the hashes in the opposite order (the order tlog does not use: if the
// driver's proofs were root-first, the positive checks would fail and these would pass).
func reversed(hashes []tlog.Hash) []tlog.Hash {
	out := make([]tlog.Hash, len(hashes))
	for i, h := range hashes {
		out[len(hashes)-1-i] = h
	}
	return out
}

func parseHashes(fields []string) ([]tlog.Hash, error) {
	var out []tlog.Hash
	for _, f := range fields {
		h, err := tlog.ParseHash(f)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

func checkInclusion(fields []string, roots map[int64]tlog.Hash) {
	if len(fields) < 4 {
		fatal("malformed inclusion line: %v", fields)
	}
	index, err1 := strconv.ParseInt(fields[0], 10, 64)
	size, err2 := strconv.ParseInt(fields[1], 10, 64)
	preimage, err3 := base64.StdEncoding.DecodeString(fields[2])
	leaf, err4 := tlog.ParseHash(fields[3])
	path, err5 := parseHashes(fields[4:])
	if err := firstError(err1, err2, err3, err4, err5); err != nil {
		fatal("malformed inclusion line: %v", err)
	}
	root, known := roots[size]
	if !known {
		fatal("inclusion proof for tree size %d: no verified checkpoint of that size", size)
	}
	what := fmt.Sprintf("leaf %d in tree %d", index, size)
	proof := tlog.RecordProof(path)

	hash := tlog.RecordHash(preimage)
	var err error
	if hash != leaf {
		err = fmt.Errorf("RecordHash %s, proven leaf %s", hash, leaf)
	}
	ok(what+": tlog.RecordHash(stored preimage) = proven leaf", err)
	ok(fmt.Sprintf("%s: tlog.CheckRecord (%d proof hashes)", what, len(path)), tlog.CheckRecord(proof, size, root, index, hash))

	refused(what+": tlog.CheckRecord with a flipped root byte", tlog.CheckRecord(proof, size, flipHash(root, 0), index, hash))
	for i := range path {
		bad := append(tlog.RecordProof(nil), path...)
		bad[i] = flipHash(bad[i], 31)
		refused(fmt.Sprintf("%s: tlog.CheckRecord with proof hash %d flipped", what, i), tlog.CheckRecord(bad, size, root, index, hash))
	}
	if len(path) > 1 {
		refused(what+": tlog.CheckRecord with the proof hashes in root-first order", tlog.CheckRecord(reversed(path), size, root, index, hash))
	}
	bad := append([]byte(nil), preimage...)
	bad[len(bad)/2] ^= 0x01
	refused(what+": tlog.CheckRecord on a preimage with one flipped byte", tlog.CheckRecord(proof, size, root, index, tlog.RecordHash(bad)))
	if size > 1 {
		other := index ^ 1
		if other >= size {
			other = index - 1
		}
		refused(fmt.Sprintf("%s: tlog.CheckRecord claiming index %d", what, other), tlog.CheckRecord(proof, size, root, other, hash))
	}
}

func checkConsistency(fields []string, old, cur checkpoint) {
	if len(fields) < 2 {
		fatal("malformed consistency line: %v", fields)
	}
	oldSize, err1 := strconv.ParseInt(fields[0], 10, 64)
	newSize, err2 := strconv.ParseInt(fields[1], 10, 64)
	path, err3 := parseHashes(fields[2:])
	if err := firstError(err1, err2, err3); err != nil {
		fatal("malformed consistency line: %v", err)
	}
	if oldSize != old.size || newSize != cur.size {
		fatal("consistency proof %d -> %d does not join the checkpoints %d and %d", oldSize, newSize, old.size, cur.size)
	}
	what := fmt.Sprintf("tree %d -> %d", oldSize, newSize)
	proof := tlog.TreeProof(path)
	ok(fmt.Sprintf("%s: tlog.CheckTree (%d proof hashes)", what, len(path)), tlog.CheckTree(proof, cur.size, cur.root, old.size, old.root))
	refused(what+": tlog.CheckTree with a flipped old root byte", tlog.CheckTree(proof, cur.size, cur.root, old.size, flipHash(old.root, 3)))
	refused(what+": tlog.CheckTree with a flipped new root byte", tlog.CheckTree(proof, cur.size, flipHash(cur.root, 3), old.size, old.root))
	if len(path) > 1 {
		refused(what+": tlog.CheckTree with the proof hashes in root-first order", tlog.CheckTree(reversed(path), cur.size, cur.root, old.size, old.root))
	}
	for i := range path {
		bad := append(tlog.TreeProof(nil), path...)
		bad[i] = flipHash(bad[i], 0)
		refused(fmt.Sprintf("%s: tlog.CheckTree with proof hash %d flipped", what, i), tlog.CheckTree(bad, cur.size, cur.root, old.size, old.root))
	}
}

func checkProofs(dir string, old, cur checkpoint) {
	roots := map[int64]tlog.Hash{old.size: old.root, cur.size: cur.root}
	scanner := bufio.NewScanner(bytes.NewReader(readFile(dir, "proofs.txt")))
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	inclusions, consistencies := 0, 0
	for scanner.Scan() {
		fields := strings.Split(scanner.Text(), " ")
		switch fields[0] {
		case "inclusion":
			checkInclusion(fields[1:], roots)
			inclusions++
		case "consistency":
			checkConsistency(fields[1:], old, cur)
			consistencies++
		default:
			fatal("proofs.txt: unknown line %q", fields[0])
		}
	}
	if inclusions == 0 || consistencies == 0 {
		fatal("proofs.txt: %d inclusion and %d consistency proofs, want at least one of each", inclusions, consistencies)
	}
}

// cosigner is a C2SP tlog-cosignature Ed25519 cosigner key (signature type 0x04).
type cosigner struct {
	name  string
	keyID [4]byte
	pub   ed25519.PublicKey
}

// parseCosignerKey parses a vkey "<name>+<key ID hex>+<base64(0x04 || public key)>" and checks
// the key ID is SHA-256(name || 0x0A || 0x04 || public key)[:4].
func parseCosignerKey(vkey string) (cosigner, error) {
	var c cosigner
	parts := strings.SplitN(vkey, "+", 3) // the base64 key may itself hold a +
	if len(parts) != 3 || parts[0] == "" {
		return c, fmt.Errorf("malformed cosigner key %q", vkey)
	}
	id, err := hex.DecodeString(parts[1])
	if err != nil || len(id) != 4 {
		return c, fmt.Errorf("malformed key ID %q", parts[1])
	}
	key, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(key) != 1+ed25519.PublicKeySize || key[0] != 0x04 {
		return c, errors.New("key is not type 0x04 with a 32-byte Ed25519 public key")
	}
	c.name, c.pub = parts[0], ed25519.PublicKey(key[1:])
	c.keyID = cosignerKeyID(c.name, c.pub)
	if !bytes.Equal(id, c.keyID[:]) {
		return c, fmt.Errorf("key ID %x, computed %x", id, c.keyID)
	}
	return c, nil
}

func cosignerKeyID(name string, pub ed25519.PublicKey) [4]byte {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{0x0A, 0x04})
	h.Write(pub)
	var id [4]byte
	copy(id[:], h.Sum(nil))
	return id
}

// cosignatureOf finds the signature line "— <name> base64(key ID || timestamp || signature)" by
// this cosigner in msg (a checkpoint note) and returns its timestamp and Ed25519 signature.
func (c cosigner) cosignatureOf(msg []byte) (uint64, []byte, error) {
	prefix := "— " + c.name + " "
	for _, line := range strings.Split(string(msg), "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(line[len(prefix):])
		if err != nil || len(raw) < 4 || !bytes.Equal(raw[:4], c.keyID[:]) {
			continue // another key with the same name: not this cosigner's line
		}
		if len(raw) != 4+8+ed25519.SignatureSize {
			return 0, nil, fmt.Errorf("cosignature is %d bytes, want 76", len(raw))
		}
		ts := binary.BigEndian.Uint64(raw[4:12])
		if ts > 1<<63-1 {
			return 0, nil, fmt.Errorf("timestamp %d exceeds 2^63-1", ts)
		}
		return ts, raw[12:], nil
	}
	return 0, nil, fmt.Errorf("no cosignature line by %s (key ID %x)", c.name, c.keyID)
}

// cosignedMessage is what a cosignature/v1 signs: the header line, the timestamp line, then the
// checkpoint's note text (the body, final newline included, no signature lines).
func cosignedMessage(ts uint64, body string) []byte {
	return []byte("cosignature/v1\ntime " + strconv.FormatUint(ts, 10) + "\n" + body)
}

func (c cosigner) verify(ts uint64, sig []byte, body string) error {
	if !ed25519.Verify(c.pub, cosignedMessage(ts, body), sig) {
		return errors.New("Ed25519 signature does not verify")
	}
	return nil
}

func checkCosignature(dir string, cur checkpoint) {
	vkey := strings.TrimSpace(string(readFile(dir, "witness.vkey")))
	c, err := parseCosignerKey(vkey)
	ok("cosigner key "+vkey+": type 0x04, key ID = SHA-256(name||0x0A||0x04||pk)[:4]", err)
	if err != nil {
		return
	}
	msg := readFile(dir, "checkpoint.new")
	unverified := false
	for _, s := range cur.note.UnverifiedSigs {
		unverified = unverified || (s.Name == c.name && s.Hash == binary.BigEndian.Uint32(c.keyID[:]))
	}
	var err2 error
	if !unverified {
		err2 = errors.New("note.Open did not report the cosignature line as a signature by an unknown key")
	}
	ok("note.Open keeps the cosignature line as a well-formed signature of another key", err2)

	ts, sig, err := c.cosignatureOf(msg)
	if err == nil {
		err = c.verify(ts, sig, cur.text)
	}
	if now := uint64(time.Now().Unix()); err == nil && ts > now+300 {
		err = fmt.Errorf("timestamp %d is in the future (now %d)", ts, now)
	}
	ok(fmt.Sprintf("cosignature/v1 by %s (time %d) over the new checkpoint", c.name, ts), err)
	if err != nil {
		return
	}
	badSig := append([]byte(nil), sig...)
	badSig[5] ^= 0x01
	refused("cosignature with a flipped signature byte", c.verify(ts, badSig, cur.text))
	refused("cosignature with the timestamp changed by one second", c.verify(ts+1, sig, cur.text))
	badBody := string(tamperRootLine([]byte(cur.text)))
	refused("cosignature over a checkpoint with a flipped root byte", c.verify(ts, sig, badBody))
	_, _, err = c.cosignatureOf(tamperSignature(msg, c.name))
	if err == nil {
		ts2, sig2, _ := c.cosignatureOf(tamperSignature(msg, c.name))
		err = c.verify(ts2, sig2, cur.text)
	}
	refused("cosignature line with a flipped byte in the note", err)
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: verify_audit <dir written by audit_interop_driver>")
		os.Exit(2)
	}
	dir := os.Args[1]
	old, cur := checkCheckpoints(dir)
	checkProofs(dir, old, cur)
	checkCosignature(dir, cur)
	fmt.Printf("verify_audit: %d checks passed, %d failed\n", passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}
