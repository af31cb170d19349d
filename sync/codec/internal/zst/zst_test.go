package zst

import (
	"bytes"
	"errors"
	"testing"
)

func TestStrictSize(t *testing.T) {
	src := bytes.Repeat([]byte("murmur "), 1000)
	z := Append(nil, src)
	got, err := Decode(z, len(src))
	if err != nil || !bytes.Equal(got, src) {
		t.Fatalf("round trip: %v", err)
	}
	for _, want := range []int{0, len(src) - 1, len(src) + 1, 1 << 30} {
		if _, err := Decode(z, want); !errors.Is(err, ErrCorrupt) {
			t.Errorf("declared %d bytes accepted as %d: %v", len(src), want, err)
		}
	}
	small := Append(nil, []byte("x"))
	if got, err := Decode(small, 1); err != nil || string(got) != "x" {
		t.Fatalf("1-byte frame: %q %v", got, err)
	}
	if got, err := Decode(nil, 0); err != nil || len(got) != 0 {
		t.Fatalf("empty: %v", err)
	}
	if _, err := Decode(z[:len(z)-3], len(src)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("truncated frame accepted: %v", err)
	}
	if _, err := Decode(append(bytes.Clone(z), z...), len(src)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("two frames accepted as one: %v", err)
	}
}
