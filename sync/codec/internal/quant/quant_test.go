package quant

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

func TestShuffleRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, w := range []int{1, 2, 3, 4} {
		src := make([]byte, 60)
		for i := range src {
			src[i] = byte(r.Uint32())
		}
		sh, back := make([]byte, len(src)), make([]byte, len(src))
		Shuffle(sh, src, w)
		Unshuffle(back, sh, w)
		if !bytes.Equal(back, src) {
			t.Fatalf("w=%d: round trip differs", w)
		}
		if w > 1 && sh[1] != src[w] {
			t.Fatalf("w=%d: plane 0 not contiguous", w)
		}
	}
}

func TestBF16(t *testing.T) {
	for _, c := range []struct {
		in   float32
		want uint16
	}{{1, 0x3f80}, {-2, 0xc000}, {math.Float32frombits(0x3f808000), 0x3f80}, {math.Float32frombits(0x3f818000), 0x3f82}, {math.Float32frombits(0x3f808001), 0x3f81}} {
		if got := BF16(c.in); got != c.want {
			t.Errorf("BF16(%#x) = %#x, want %#x (round to nearest even)", math.Float32bits(c.in), got, c.want)
		}
	}
	if f := FromBF16(BF16(float32(math.NaN()))); !math.IsNaN(float64(f)) {
		t.Error("NaN did not stay NaN")
	}
}

func TestQuantizeNearestAndStochastic(t *testing.T) {
	v := []float32{-1, -0.6, 0, 0.25, 1, 3}
	codes, scales := make([]byte, len(v)), make([]float32, 2)
	Quantize(codes, scales, v, 3, 5, nil) // L = 3; bucket 0 scale 1, bucket 1 scale 3
	out := make([]float32, len(v))
	if i := Dequantize(out, codes, scales, 3, 5); i >= 0 {
		t.Fatalf("bad code at %d", i)
	}
	want := []float32{-1, -2.0 / 3, 0, 1.0 / 3, 1, 3}
	for i := range want {
		if math.Abs(float64(out[i]-want[i])) > 1e-6 {
			t.Fatalf("nearest: out[%d] = %g, want %g (codes %v)", i, out[i], want[i], codes)
		}
	}
	codes[0] = 7 // above 2L = 6
	if i := Dequantize(out, codes, scales, 3, 5); i != 0 {
		t.Fatalf("code 7 at 3 bits not reported: %d", i)
	}
	// Stochastic: 0.25 with L=3 lies between levels 0 and 1/3: both appear.
	r := rand.New(rand.NewPCG(2, 2))
	seen := map[byte]bool{}
	for range 200 {
		Quantize(codes, scales, v, 3, 5, r)
		seen[codes[3]] = true
	}
	if !seen[3] || !seen[4] || len(seen) != 2 {
		t.Fatalf("stochastic codes for 0.25: %v, want exactly {3, 4}", seen)
	}
}

func BenchmarkQuantizeStochastic(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	v := make([]float32, 1<<18)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	codes, scales := make([]byte, len(v)), make([]float32, Buckets(len(v), 512))
	b.SetBytes(int64(4 * len(v)))
	for b.Loop() {
		Quantize(codes, scales, v, 4, 512, r)
	}
}
