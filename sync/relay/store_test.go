package relay

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"testing"

	"github.com/murmur-fl/murmur/sync/wire"
)

// testStore is the conformance suite every Store passes.
func testStore(t *testing.T, open func() Store, reopen func(Store) Store) {
	s := open()
	defer func() { s.Close() }()
	if _, ok, err := s.Latest(); ok || err != nil {
		t.Fatalf("empty store: ok=%v err=%v", ok, err)
	}
	params := []float32{1, 2, 3}
	blob := EncodeFloat32(params)
	c := Committed{Version: 1, Hash: sha256.Sum256(blob), Blob: blob, Params: params, OptState: []byte{9}}
	if err := s.Commit(c); err != nil {
		t.Fatal(err)
	}
	rs := RoundState{Number: 1, ModelVersion: 1, Participants: []Participant{{Device: "a", Index: 1, UploadID: wire.ID16{1}}}}
	if err := s.SaveRound(rs); err != nil {
		t.Fatal(err)
	}
	id := wire.ID16{1}
	u, err := s.BeginUpload(1, UploadMeta{ID: id, Device: "a", Size: 10, CRC: 7, Examples: 5})
	if err != nil || u.Offset != 0 {
		t.Fatalf("begin: %+v %v", u, err)
	}
	if off, err := s.AppendUpload(1, id, 0, []byte("hello")); err != nil || off != 5 {
		t.Fatalf("append: %d %v", off, err)
	}
	if off, err := s.AppendUpload(1, id, 0, []byte("hello")); !errors.Is(err, ErrStaleOffset) || off != 5 {
		t.Fatalf("replayed chunk: off=%d err=%v, want ErrStaleOffset at 5", off, err)
	}
	if _, err := s.AppendUpload(1, id, 5, []byte("world!")); !errors.Is(err, ErrUploadFull) {
		t.Fatalf("overflow: %v", err)
	}
	if _, err := s.AppendUpload(1, wire.ID16{2}, 0, []byte("x")); !errors.Is(err, ErrUnknownUpload) {
		t.Fatalf("unknown upload: %v", err)
	}
	if _, err := s.BeginUpload(1, UploadMeta{ID: id, Device: "a", Size: 11, CRC: 7}); !errors.Is(err, ErrUploadChanged) {
		t.Fatalf("changed upload: %v", err)
	}

	// Everything acknowledged so far survives a reopen.
	s = reopen(s)
	if got, ok, err := s.Latest(); !ok || err != nil || got.Version != 1 || !bytes.Equal(got.Blob, blob) || got.Params[2] != 3 || got.OptState[0] != 9 {
		t.Fatalf("latest after reopen: %+v %v %v", got, ok, err)
	}
	if r, ok, err := s.LoadRound(); !ok || err != nil || r.Number != 1 || r.Participants[0].UploadID != id {
		t.Fatalf("round after reopen: %+v %v %v", r, ok, err)
	}
	if u, err := s.BeginUpload(1, UploadMeta{ID: id, Device: "a", Size: 10, CRC: 7, Examples: 5}); err != nil || u.Offset != 5 {
		t.Fatalf("resume begin: %+v %v", u, err)
	}
	if off, err := s.AppendUpload(1, id, 5, []byte("world")); err != nil || off != 10 {
		t.Fatalf("append: %d %v", off, err)
	}
	if err := s.CompleteUpload(1, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendUpload(1, id, 10, nil); !errors.Is(err, ErrUploadDone) {
		t.Fatalf("append after done: %v", err)
	}
	m, data, err := s.Upload(1, id, true)
	if err != nil || !m.Done || string(data) != "helloworld" || m.Examples != 5 {
		t.Fatalf("upload: %+v %q %v", m, data, err)
	}
	if ups, err := s.Uploads(1); err != nil || len(ups) != 1 {
		t.Fatalf("uploads: %v %v", ups, err)
	}
	// Committing round 1 closes it and drops its uploads; old blobs are pruned.
	for v := uint64(2); v <= 7; v++ {
		p := []float32{float32(v)}
		b := EncodeFloat32(p)
		if err := s.Commit(Committed{Version: v, Round: v - 1, Hash: sha256.Sum256(b), Blob: b, Params: p}); err != nil {
			t.Fatal(err)
		}
	}
	if r, ok, _ := s.LoadRound(); !ok || !r.Closed || r.Number != 1 {
		t.Fatalf("round record after commit: %+v %v, want round 1 closed", r, ok)
	}
	if ups, _ := s.Uploads(1); len(ups) != 0 {
		t.Fatalf("uploads of a committed round kept: %d", len(ups))
	}
	if _, err := s.Blob(c.Hash); !errors.Is(err, ErrNotFound) && s != nil {
		// the memory store keeps every blob; bbolt prunes
		if _, isBolt := s.(*boltStore); isBolt {
			t.Fatalf("old blob not pruned: %v", err)
		}
	}
	last, _, _ := s.Latest()
	if b, err := s.Blob(last.Hash); err != nil || !bytes.Equal(b, last.Blob) {
		t.Fatalf("latest blob: %v", err)
	}
	if err := s.AbandonRound(42); err != nil {
		t.Fatalf("abandon unknown round: %v", err)
	}

	// Every committed version keeps its parameters until pruned (deltas
	// are served from them), across a reopen; the latest is never pruned.
	for v := uint64(1); v <= 7; v++ {
		p, err := s.Params(v)
		if err != nil || len(p) == 0 || (v > 1 && p[0] != float32(v)) || (v == 1 && p[2] != 3) {
			t.Fatalf("params of v%d: %v %v", v, p, err)
		}
	}
	if err := s.Prune(5); err != nil {
		t.Fatal(err)
	}
	s = reopen(s)
	for v := uint64(1); v <= 7; v++ {
		_, err := s.Params(v)
		if kept := v >= 5; kept != (err == nil) || (!kept && !errors.Is(err, ErrNotFound)) {
			t.Fatalf("after Prune(5), params of v%d: err %v", v, err)
		}
	}
	if err := s.Prune(100); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Params(7); err != nil || p[0] != 7 {
		t.Fatalf("Prune past the latest dropped it: %v %v", p, err)
	}
	if got, ok, err := s.Latest(); !ok || err != nil || got.Params[0] != 7 {
		t.Fatalf("latest after pruning: %+v %v %v", got, ok, err)
	}
}

func TestBoltStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "relay.db")
	open := func() Store {
		s, err := OpenBolt(path)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	testStore(t, open, func(s Store) Store { s.Close(); return open() })
}

func TestMemStore(t *testing.T) {
	testStore(t, NewMemStore, func(s Store) Store { return s })
}
