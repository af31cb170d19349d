package frame

import (
	"bytes"
	"errors"
	"testing"
)

func sample(t testing.TB) []byte {
	b, err := Append(nil, &Header{Codec: 4, CodecVersion: 1, Flags: 1, Dim: 12, Seed: 77,
		Shapes: [][]uint32{{3, 2}, {6}}, Params: []byte{1, 2, 3}}, []byte("payload"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTripAndCorruption(t *testing.T) {
	b := sample(t)
	h, p, err := Parse(b, 100)
	if err != nil || h.Dim != 12 || h.Seed != 77 || len(h.Shapes) != 2 || string(p) != "payload" || !bytes.Equal(h.Params, []byte{1, 2, 3}) {
		t.Fatalf("Parse = %+v %q %v", h, p, err)
	}
	if _, _, err := Parse(b, 11); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("dimension over the limit accepted: %v", err)
	}
	for n := 0; n < len(b); n++ {
		if _, _, err := Parse(b[:n], 100); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: %v", n, err)
		}
	}
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 0x10
		if _, _, err := Parse(c, 100); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("flipped bit in byte %d accepted", i)
		}
	}
	if _, err := Append(nil, &Header{Dim: 5, Shapes: [][]uint32{{2, 2}}}, nil); err == nil {
		t.Fatal("shapes that do not cover dim accepted")
	}
}

// FuzzParse: anything Parse accepts, Append reproduces byte for byte.
func FuzzParse(f *testing.F) {
	f.Add(sample(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, p, err := Parse(b, 1<<20)
		if err != nil {
			return
		}
		again, err := Append(nil, &h, p)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs (%v)", err)
		}
	})
}
