package codec

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/murmur-fl/murmur/sync/codec/internal/quant"
)

// TestPlaneKernels compares encodeF32 and encodeBF16 (with the AVX2
// transposes where they run) with the plain per-value loops, byte for
// byte: lengths 0..67 and more, with and without a base, NaN payloads,
// infinities, zeros of both signs, subnormals, halfway bf16 roundings.
func TestPlaneKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	edges := []float32{0, float32(math.Copysign(0, -1)), 1e-45, -1e-45, float32(math.Inf(1)), float32(math.Inf(-1)),
		math.Float32frombits(0x7fc00001), math.Float32frombits(0xffa00000), math.Float32frombits(0x3f808000), math.Float32frombits(0x3f818000),
		math.MaxFloat32, -math.MaxFloat32}
	for n := 0; n <= 200; n++ {
		if n > 67 && n%31 != 0 && n != 200 {
			continue
		}
		x, base := make([]float32, n), make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64())
			base[i] = float32(r.NormFloat64())
			if r.IntN(5) == 0 {
				x[i] = edges[r.IntN(len(edges))]
			}
			if r.IntN(5) == 0 {
				base[i] = edges[r.IntN(len(edges))]
			}
		}
		for _, b := range [][]float32{nil, base} {
			// float32: the kernel needs finite inputs only for the check
			// before it; feed the transposes every value through the raw
			// helper so NaN payloads are covered too.
			got, want := make([]byte, 4*n), make([]byte, 4*n)
			if n > 0 {
				splitAll(got, x, b)
			}
			for i, v := range x {
				bits := math.Float32bits(v)
				if b != nil {
					bits ^= math.Float32bits(b[i])
				}
				for k := range 4 {
					want[k*n+i] = byte(bits >> (8 * k))
				}
			}
			if string(got) != string(want) {
				t.Fatalf("float32 planes n=%d base=%v: differ", n, b != nil)
			}
			got16, want16 := make([]byte, 2*n), make([]byte, 2*n)
			if n > 0 {
				splitAll16(got16, x, b)
			}
			for i, v := range x {
				if b != nil {
					v -= b[i]
				}
				h := quant.BF16(v)
				want16[i], want16[n+i] = byte(h), byte(h>>8)
			}
			// The real entry points, on finite values.
			fx := append([]float32(nil), x...)
			for i, v := range fx {
				if !quant.Finite(v) {
					fx[i] = 1.5
				}
			}
			e1, e2 := make([]byte, 4*n), make([]byte, 4*n)
			if bad := encodeF32(e1, fx, b, true); bad >= 0 {
				t.Fatalf("encodeF32: value %d non-finite", bad)
			}
			splitAll(e2, fx, nil)
			if b == nil && string(e1) != string(e2) {
				t.Fatalf("encodeF32 n=%d: differs from the plain loop", n)
			}
			h1, h2 := make([]byte, 2*n), make([]byte, 2*n)
			encodeBF16(h1, fx, b, true)
			for i, v := range fx {
				if b != nil {
					v -= b[i]
				}
				h := quant.BF16(v)
				h2[i], h2[n+i] = byte(h), byte(h>>8)
			}
			if string(h1) != string(h2) {
				t.Fatalf("encodeBF16 n=%d base=%v: differs from the plain loop", n, b != nil)
			}
			if string(got16) != string(want16) {
				for i := range n {
					if got16[i] != want16[i] || got16[n+i] != want16[n+i] {
						t.Fatalf("bf16 planes n=%d base=%v: value %d (%v): kernel %#x, Go %#x", n, b != nil, i, x[i],
							binary.LittleEndian.Uint16([]byte{got16[i], got16[n+i]}), binary.LittleEndian.Uint16([]byte{want16[i], want16[n+i]}))
					}
				}
			}
		}
	}
}

// splitAll and splitAll16 run encodeF32's and encodeBF16's plane loops
// (kernel plus Go tail) without the finiteness check.
func splitAll(raw []byte, x, base []float32) {
	n := len(x)
	k := 0
	if useAVX2 && n >= 32 {
		k = n &^ 31
		var b *float32
		if base != nil {
			b = &base[0]
		}
		splitF32AVX2(&raw[0], &x[0], b, k, n)
	}
	for i := k; i < n; i++ {
		bits := math.Float32bits(x[i])
		if base != nil {
			bits ^= math.Float32bits(base[i])
		}
		raw[i], raw[n+i], raw[2*n+i], raw[3*n+i] = byte(bits), byte(bits>>8), byte(bits>>16), byte(bits>>24)
	}
}

func splitAll16(raw []byte, x, base []float32) {
	n := len(x)
	k := 0
	if useAVX2 && n >= 32 {
		k = n &^ 31
		var b *float32
		if base != nil {
			b = &base[0]
		}
		splitBF16AVX2(&raw[0], &x[0], b, k, n)
	}
	for i := k; i < n; i++ {
		v := x[i]
		if base != nil {
			v -= base[i]
		}
		h := quant.BF16(v)
		raw[i], raw[n+i] = byte(h), byte(h>>8)
	}
}

// TestMergeKernels compares f32FromPlanes and bf16FromPlanes (the AVX2
// merges where they run) with their Go loops: values and flags, with and
// without a base, random plane bytes (NaN and Inf patterns included).
func TestMergeKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	for n := 0; n <= 200; n++ {
		if n > 67 && n%31 != 0 && n != 200 {
			continue
		}
		raw := make([]byte, 4*n)
		for i := range raw {
			raw[i] = byte(r.Uint32())
			if r.IntN(4) == 0 {
				raw[i] = []byte{0, 0x7f, 0x80, 0xff}[r.IntN(4)]
			}
		}
		base := make([]float32, n)
		for i := range base {
			base[i] = float32(r.NormFloat64())
		}
		for _, b := range [][]float32{nil, base} {
			got, want := make([]float32, n), make([]float32, n)
			gf := f32FromPlanes(got, raw, b)
			wf := f32FromPlanesGo(want, raw, b, 0)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("f32 n=%d base=%v value %d: kernel %#x, Go %#x", n, b != nil, i, math.Float32bits(got[i]), math.Float32bits(want[i]))
				}
			}
			if gf>>31 != wf>>31 {
				t.Fatalf("f32 n=%d: flag %#x, Go %#x", n, gf, wf)
			}
			gf = bf16FromPlanes(got, raw[:2*n], b)
			wf = bf16FromPlanesGo(want, raw[:2*n], b, 0)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("bf16 n=%d base=%v value %d: kernel %#x, Go %#x", n, b != nil, i, math.Float32bits(got[i]), math.Float32bits(want[i]))
				}
			}
			if gf>>31 != wf>>31 {
				t.Fatalf("bf16 n=%d: flag %#x, Go %#x", n, gf, wf)
			}
		}
	}
}

// TestFirstNonFiniteKernel: the AVX2 flag finds every NaN or ±Inf (any
// position, any length), and nothing in finite data.
func TestFirstNonFiniteKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(45, 46))
	bad := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), math.Float32frombits(0xff800001)}
	for n := 0; n <= 300; n++ {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64()) * []float32{1, 1e-40, 1e37}[r.IntN(3)]
		}
		if got := firstNonFinite(x); got != -1 {
			t.Fatalf("n=%d finite data: %d", n, got)
		}
		if n == 0 {
			continue
		}
		i := r.IntN(n)
		x[i] = bad[r.IntN(len(bad))]
		if got := firstNonFinite(x); got != i {
			t.Fatalf("n=%d: non-finite at %d, found %d", n, i, got)
		}
	}
}

// TestSubKernel: subF32 (the AVX2 kernel where it runs) gives Go's
// float32 x − base bit for bit, for lengths 0..70 and larger, with signed
// zeros, subnormals, huge values (overflow to ±Inf), ±Inf and NaN
// payloads in base.
func TestSubKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(47, 48))
	pick := func() float32 {
		switch r.IntN(8) {
		case 0:
			return 0
		case 1:
			return float32(math.Copysign(0, -1))
		case 2:
			return 1e-45 * float32(r.IntN(9)-4)
		case 3:
			return 3e38 * float32(r.NormFloat64())
		case 4:
			return []float32{float32(math.Inf(1)), float32(math.Inf(-1)), math.Float32frombits(0x7fc00001), math.Float32frombits(0xff800123)}[r.IntN(4)]
		}
		return float32(r.NormFloat64())
	}
	for _, n := range append([]int{1000, 4099}, func() []int {
		var s []int
		for n := 0; n <= 70; n++ {
			s = append(s, n)
		}
		return s
	}()...) {
		x, base, got := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range x {
			x[i], base[i] = pick(), pick()
		}
		subF32(got, x, base)
		for i := range got {
			if want := x[i] - base[i]; math.Float32bits(got[i]) != math.Float32bits(want) {
				t.Fatalf("n=%d, %d: %v − %v: kernel %#x, Go %#x", n, i, x[i], base[i], math.Float32bits(got[i]), math.Float32bits(want))
			}
		}
	}
}
