package ent

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

func codes(n int, spread float64) []byte {
	r := rand.New(rand.NewPCG(1, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(min(max(int(r.NormFloat64()*spread)+7, 0), 14))
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	random := make([]byte, 100000)
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	for name, in := range map[string][]byte{
		"empty": nil, "tiny": {1, 2, 3}, "codes": codes(200000, 2), "constant": bytes.Repeat([]byte{7}, 70000),
		"random": random, "exact-chunk": codes(chunk, 1),
	} {
		enc := Append(nil, in)
		out, err := Decode(enc, len(in))
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("%s: round trip failed: %v", name, err)
		}
		if name == "codes" && len(enc) > len(in)*45/100 {
			t.Fatalf("3-bit-entropy codes coded to %d of %d bytes", len(enc), len(in))
		}
		if len(in) > 0 {
			if _, err := Decode(enc[:len(enc)-1], len(in)); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s: truncated section accepted: %v", name, err)
			}
		}
		if _, err := Decode(append(enc, 0), len(in)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s: trailing byte accepted: %v", name, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Append(nil, codes(1000, 2)), 1000)
	f.Add(Append(nil, bytes.Repeat([]byte{3}, 100)), 100)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		if n < 0 || n > 1<<20 {
			return
		}
		out, err := Decode(b, n)
		if err == nil && len(out) != n {
			t.Fatalf("decoded %d bytes, want %d", len(out), n)
		}
	})
}
