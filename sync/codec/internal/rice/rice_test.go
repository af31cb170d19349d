package rice

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

func randomIdx(r *rand.Rand, d int, p float64) []uint32 {
	var idx []uint32
	for i := 0; i < d; i++ {
		if r.Float64() < p {
			idx = append(idx, uint32(i))
		}
	}
	return idx
}

func TestRoundTripAndSize(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, p := range []float64{0.0005, 0.01, 0.3, 1} {
		const d = 200000
		idx := randomIdx(r, d, p)
		k := Param(idx, d)
		b := Append(nil, idx, k)
		got, err := Decode(nil, b, len(idx), d, k)
		if err != nil || !slices.Equal(got, idx) {
			t.Fatalf("p=%g: round trip failed: %v", p, err)
		}
		if p == 0.01 {
			if bitsPer := 8 * float64(len(b)) / float64(len(idx)); bitsPer > 8.4 {
				t.Fatalf("1%% density: %.2f bits per index, want <= 8.4 (entropy ~8.1)", bitsPer)
			}
		}
		if len(b) > 0 {
			if _, err := Decode(nil, b[:len(b)-1], len(idx), d, k); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("p=%g: truncated accepted: %v", p, err)
			}
		}
		if _, err := Decode(nil, append(b, 0), len(idx), d, k); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("p=%g: trailing byte accepted: %v", p, err)
		}
		if len(idx) > 0 {
			if _, err := Decode(nil, b, len(idx), int(idx[len(idx)-1]), k); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("p=%g: index at the dimension accepted: %v", p, err)
			}
		}
	}
	// Large gaps and every k.
	idx := []uint32{0, 1, 1000, 70000, 1 << 30, 1<<32 - 1}
	for k := 0; k <= MaxK; k += 5 {
		if k < 10 {
			continue // unary runs of 2^32 >> k bits are legal but slow to test
		}
		got, err := Decode(nil, Append(nil, idx, k), len(idx), 1<<32-1+1, k)
		if err != nil || !slices.Equal(got, idx) {
			t.Fatalf("k=%d: %v %v", k, got, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Append(nil, []uint32{3, 9, 200}, 3), 3, 300, 3)
	f.Add(Append(nil, randomIdx(rand.New(rand.NewPCG(2, 2)), 5000, 0.05), 4), 250, 5000, 4)
	f.Fuzz(func(t *testing.T, b []byte, count, d, k int) {
		if count < 0 || d < 0 || d > 1<<24 {
			return
		}
		got, err := Decode(nil, b, count, d, k)
		if err != nil {
			return
		}
		if len(got) != count {
			t.Fatalf("%d indices, want %d", len(got), count)
		}
		for j := 1; j < len(got); j++ {
			if got[j] <= got[j-1] {
				t.Fatal("indices not increasing")
			}
		}
		if again := Append(nil, got, k); string(again) != string(b) {
			t.Fatal("re-encoding differs: the code is not canonical")
		}
	})
}
