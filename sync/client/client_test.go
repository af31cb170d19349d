package client

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestBackoffFullJitterWithCap(t *testing.T) {
	b := backoff{base: 10 * time.Millisecond, max: 200 * time.Millisecond}
	var sawSmall, sawLarge bool
	for attempt := range 200 {
		ceil := min(10*time.Millisecond<<min(attempt, 30), 200*time.Millisecond)
		d := b.next()
		if d < 0 || d > ceil {
			t.Fatalf("attempt %d: %v outside [0, %v]", attempt, d, ceil)
		}
		if attempt > 10 {
			sawSmall = sawSmall || d < 50*time.Millisecond
			sawLarge = sawLarge || d > 150*time.Millisecond
		}
	}
	if !sawSmall || !sawLarge {
		t.Fatal("capped waits are not spread over [0, cap] (full jitter)")
	}
	b.reset()
	if d := b.next(); d > 10*time.Millisecond {
		t.Fatalf("after reset: %v", d)
	}
}

func TestRetryWindow(t *testing.T) {
	for range 100 {
		if d := window(1000, 1500); d < time.Second || d > 1500*time.Millisecond {
			t.Fatalf("window wait %v outside [1s, 1.5s]", d)
		}
	}
	if d := window(700, 700); d != 700*time.Millisecond {
		t.Fatalf("point window %v", d)
	}
}

func testStorage(t *testing.T, s Storage) {
	if _, err := s.Get("x"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("missing key: %v", err)
	}
	s.Put("x", []byte("ab"))
	s.Append("x", []byte("cd"))
	s.Append("new", []byte("z"))
	if v, err := s.Get("x"); err != nil || !bytes.Equal(v, []byte("abcd")) {
		t.Fatalf("get %q %v", v, err)
	}
	if v, _ := s.Get("new"); string(v) != "z" {
		t.Fatalf("append to a new key: %q", v)
	}
	s.Put("x", []byte("q"))
	if v, _ := s.Get("x"); string(v) != "q" {
		t.Fatalf("put replaces: %q", v)
	}
	if err := s.Delete("x"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("x"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	if _, err := s.Get("x"); !errors.Is(err, ErrNotExist) {
		t.Fatal("deleted key still there")
	}
	// keys cannot escape the directory
	s.Put("../escape", []byte("1"))
	if v, err := s.Get("../escape"); err != nil || string(v) != "1" {
		t.Fatalf("odd key: %v", err)
	}
}

func TestStorages(t *testing.T) {
	testStorage(t, MemStorage())
	dir := t.TempDir()
	d, err := DirStorage(dir)
	if err != nil {
		t.Fatal(err)
	}
	testStorage(t, d)
	d2, _ := DirStorage(dir)
	if v, err := d2.Get("new"); err != nil || string(v) != "z" {
		t.Fatal("directory state did not survive reopening")
	}
}

func TestConfigRequired(t *testing.T) {
	if _, err := New(Config{URL: "ws://x", Token: "t"}); err == nil {
		t.Fatal("missing DeviceID accepted")
	}
}
