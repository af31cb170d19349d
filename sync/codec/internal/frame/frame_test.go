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

// TestAppendPieces: a payload written and checksummed in pieces gives the
// same frame as Append; pieces out of order or short of the payload panic.
func TestAppendPieces(t *testing.T) {
	payload := make([]byte, 100000)
	for i := range payload {
		payload[i] = byte(i * 31)
	}
	h := &Header{Codec: 1, CodecVersion: 1, Dim: 7, Params: []byte{1, 2}}
	want, err := Append(nil, h, payload)
	if err != nil {
		t.Fatal(err)
	}
	got, err := AppendPieces(nil, h, len(payload), func(p []byte, sum func([]byte)) {
		for o := 0; o < len(p); o += 777 {
			e := min(o+777, len(p))
			copy(p[o:e], payload[o:e])
			sum(p[o:e])
		}
	})
	if err != nil || string(got) != string(want) {
		t.Fatalf("pieces: %v, same frame %v", err, string(got) == string(want))
	}
	if _, _, err := Parse(got, 1<<20); err != nil {
		t.Fatal(err)
	}
	for name, fill := range map[string]func([]byte, func([]byte)){
		"out of order": func(p []byte, sum func([]byte)) { sum(p[10:]); sum(p[:10]) },
		"short":        func(p []byte, sum func([]byte)) { sum(p[:len(p)-1]) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			_, _ = AppendPieces(nil, h, len(payload), fill)
		}()
	}
}
