package quant

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// FuzzQuantizeKernels is differential: Quantize (the AVX2 rounding,
// stochastic or nearest, and max-abs where they run) against quantizeGo
// on fuzzer-chosen values, bits, bucket and seed.
func FuzzQuantizeKernels(f *testing.F) {
	f.Add(uint8(4), uint16(64), uint64(1), make([]byte, 300))
	f.Add(uint8(8), uint16(9), uint64(7), []byte("\x00\x00\x80\x7f\x01\x00\x00\x00\xff\xff\x7f\x7f\x00\x00\x80\x80"))
	f.Fuzz(func(t *testing.T, bits uint8, bucket uint16, seed uint64, data []byte) {
		b := int(bits)%7 + 2
		bk := int(bucket)%1024 + 1
		v := make([]float32, len(data)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
			if !Finite(v[i]) {
				v[i] = 0
			}
		}
		nb := Buckets(len(v), bk)
		got, want := make([]byte, len(v)), make([]byte, len(v))
		gs, ws := make([]float32, nb), make([]float32, nb)
		r1, r2 := newTestRand(seed), newTestRand(seed)
		nearest := seed&1 == 0 // Quantize's round-to-nearest (rng nil)
		if nearest {
			r1 = nil
		}
		Quantize(got, gs, v, b, bk, r1)
		quantizeGo(want, ws, v, b, bk, r2.Uint64(), nearest)
		if string(got) != string(want) {
			t.Fatalf("bits %d bucket %d: codes differ", b, bk)
		}
		for i := range gs {
			if math.Float32bits(gs[i]) != math.Float32bits(ws[i]) {
				t.Fatalf("bits %d bucket %d: scale %d differs", b, bk, i)
			}
		}
	})
}

func newTestRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }
