package quant

import (
	"math"
	"math/rand/v2"
	"testing"
)

// quantizeGo is Quantize with the Go loops only (the reference for the
// AVX2 kernels).
// With nearest it is Quantize's round-to-nearest (rng nil) in Go.
func quantizeGo(codes []byte, scales []float32, v []float32, bits, bucket int, wy uint64, nearest bool) {
	L := float32(Levels(bits))
	top := int32(2 * Levels(bits))
	for b := 0; b*bucket < len(v); b++ {
		lo, hi := b*bucket, min((b+1)*bucket, len(v))
		var m uint32
		for _, x := range v[lo:hi] {
			m = max(m, math.Float32bits(x)&0x7fffffff)
		}
		s := math.Float32frombits(m)
		scales[b] = s
		if s == 0 {
			for i := lo; i < hi; i++ {
				codes[i] = byte(L)
			}
			continue
		}
		if nearest {
			nearestBucketGo(codes[lo:hi], v[lo:hi], L/s, L, top)
			continue
		}
		wy = roundBucketGo(codes[lo:hi], v[lo:hi], L/s, L, top, wy)
	}
}

// TestQuantizeKernels compares Quantize (with the AVX2 kernels where they
// run) with quantizeGo code by code: every bits, lengths 0..67 and more,
// odd buckets, zeros of both signs, subnormal and huge scales (L/s
// overflows), values on level boundaries.
func TestQuantizeKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for bits := 2; bits <= 8; bits++ {
		for _, bucket := range []int{1, 3, 8, 9, 16, 64, 512} {
			for _, n := range []int{0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 66, 67, 1000, 4099} {
				v := make([]float32, n)
				scale := []float32{1, 1e-3, 1e-40, 3e38}[r.IntN(4)]
				for i := range v {
					switch r.IntN(10) {
					case 0:
						v[i] = 0
					case 1:
						v[i] = float32(math.Copysign(0, -1))
					case 2:
						v[i] = scale * float32(r.IntN(2*Levels(bits)+1)-Levels(bits)) / float32(Levels(bits))
					case 3:
						v[i] = 1e-45 * float32(r.IntN(5)-2)
					default:
						v[i] = scale * float32(r.NormFloat64())
					}
				}
				nb := Buckets(n, bucket)
				got, want := make([]byte, n), make([]byte, n)
				gs, ws := make([]float32, nb), make([]float32, nb)
				seed := r.Uint64()
				nearest := r.IntN(2) == 0
				var rng *rand.Rand
				if !nearest {
					rng = rand.New(rand.NewPCG(seed, 1))
				}
				Quantize(got, gs, v, bits, bucket, rng)
				quantizeGo(want, ws, v, bits, bucket, rand.New(rand.NewPCG(seed, 1)).Uint64(), nearest)
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("bits %d bucket %d n %d nearest %v: value %d (%v, scale %v): kernel %d, Go %d", bits, bucket, n, nearest, i, v[i], ws[i/bucket], got[i], want[i])
					}
				}
				for i := range gs {
					if math.Float32bits(gs[i]) != math.Float32bits(ws[i]) {
						t.Fatalf("bits %d bucket %d n %d: scale %d: kernel %v, Go %v", bits, bucket, n, i, gs[i], ws[i])
					}
				}
			}
		}
	}
}

// TestRoundDrawEdges pins the draw comparison: uniforms that round up to
// the fraction, and fractions just above and below.
func TestRoundDrawEdges(t *testing.T) {
	const n = 4096
	v := make([]float32, n)
	r := rand.New(rand.NewPCG(23, 24))
	for i := range v {
		v[i] = float32(r.IntN(15)-7)/7 + float32(r.IntN(3)-1)*0x1p-24
	}
	for _, wy := range []uint64{0, 1, ^uint64(0), 0x0123456789abcdef} {
		got, want := make([]byte, n), make([]byte, n)
		a := roundBucket(got, v, 7, 7, 14, wy)
		b := roundBucketGo(want, v, 7, 7, 14, wy)
		if a != b {
			t.Fatalf("state %#x: kernel left %#x, Go %#x", wy, a, b)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("state %#x value %d (%v): kernel %d, Go %d", wy, i, v[i], got[i], want[i])
			}
		}
	}
}
