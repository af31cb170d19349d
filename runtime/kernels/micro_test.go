package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// withPureGo runs f with the vector kernel switched off, so Portable takes
// the pure-Go path (as in wasm or with -tags purego).
func withPureGo(f func()) {
	saved := vec
	vec = vecKernel{}
	defer func() { vec = saved }()
	f()
}

// TestVecKernelBitIdentical checks the vector path against the pure-Go path
// bit for bit on shapes that cross every tile and block edge of both (4x4,
// 6x16, 8x8 tiles; kc, vmc and vnc blocks), all transposes, strided
// operands, the beta cases store distinguishes, and non-finite inputs. The
// digest tests compare each path with a golden value; this one compares the
// paths with each other, on many more shapes.
func TestVecKernelBitIdentical(t *testing.T) {
	if vec.run == nil {
		t.Skip("no vector kernel on this platform/build (pure-Go only): nothing to compare")
	}
	t.Logf("vector kernel: %s %dx%d", vec.name, vec.mr, vec.nr)
	rng := rand.New(rand.NewPCG(11, 12))
	shapes := [][3]int{
		{1, 1, 1}, {5, 15, 3}, {6, 16, 1}, {7, 17, 257}, {13, 33, 255},
		{121, 20, 300}, {128, 10, 128}, {128, 128, 784}, {784, 128, 128},
		{2, 1030, 5}, {241, 9, 513},
	}
	for i := 0; i < 30; i++ {
		shapes = append(shapes, [3]int{1 + rng.IntN(70), 1 + rng.IntN(70), 1 + rng.IntN(600)})
	}
	scalars := [][2]float32{{1, 0}, {1, 1}, {-0.75, 0}, {1.5, 1}, {0.3, -2}, {1, 0.5}}
	for si, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		tA, tB := si%2 == 1, si%4 >= 2
		ab := scalars[si%len(scalars)]
		ar, ac := m, k
		if tA {
			ar, ac = k, m
		}
		br, bc := k, n
		if tB {
			br, bc = n, k
		}
		lda, ldb, ldc := ac+si%3, bc+si%2, n+si%5
		a := randSlice(rng, (ar-1)*lda+ac)
		b := randSlice(rng, (br-1)*ldb+bc)
		c := randSlice(rng, (m-1)*ldc+n)
		if si%7 == 3 { // non-finite values must propagate identically
			a[rng.IntN(len(a))] = float32(math.NaN())
			b[rng.IntN(len(b))] = float32(math.Inf(1))
			c[rng.IntN(len(c))] = float32(math.Inf(-1))
		}
		want := slices.Clone(c)
		withPureGo(func() {
			Portable{}.Gemm(tA, tB, m, n, k, ab[0], a, lda, b, ldb, ab[1], want, ldc)
		})
		got := slices.Clone(c)
		Portable{}.Gemm(tA, tB, m, n, k, ab[0], a, lda, b, ldb, ab[1], got, ldc)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(isNaN(got[i]) && isNaN(want[i])) {
				t.Fatalf("m=%d n=%d k=%d tA=%v tB=%v alpha=%g beta=%g lda=%d ldb=%d ldc=%d: c[%d] = %g (%#x) with %s, %g (%#x) in pure Go",
					m, n, k, tA, tB, ab[0], ab[1], lda, ldb, ldc, i, got[i], math.Float32bits(got[i]), vec.name, want[i], math.Float32bits(want[i]))
			}
		}
	}
}

func TestPortableKernelName(t *testing.T) {
	name := Portable{}.Kernel()
	t.Logf("Portable micro-kernel: %s", name)
	if (vec.run == nil) != (name == "go") {
		t.Fatalf("Kernel() = %q but vector kernel present = %v", name, vec.run != nil)
	}
	withPureGo(func() {
		if got := (Portable{}).Kernel(); got != "go" {
			t.Fatalf("pure-Go path reports %q, want go", got)
		}
	})
}

func isNaN(f float32) bool { return f != f }

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// The vector A pack must lay out exactly what the scalar loop does, for
// depths that are and are not multiples of its 8-step groups, and must not
// write past the panel.
func TestPack6Vector(t *testing.T) {
	if packA6 == nil {
		t.Skip("no vector pack on this platform/build")
	}
	for _, kb := range []int{1, 7, 8, 9, 16, 23, 256} {
		for _, ld := range []int{kb, kb + 1, kb + 13} {
			s := make([]float32, 5*ld+kb+3)
			for i := range s {
				s[i] = float32(i) // every element distinct
			}
			want := make([]float32, 6*kb+4)
			for p := 0; p < kb; p++ {
				for r := 0; r < 6; r++ {
					want[p*6+r] = s[2+r*ld+p]
				}
			}
			got := make([]float32, 6*kb+4)
			for i := 6 * kb; i < len(got); i++ {
				got[i], want[i] = -7, -7 // a guard past the panel
			}
			pack6(got, s, ld, 2, kb)
			if !slices.Equal(got, want) {
				t.Fatalf("kb=%d ld=%d: pack6 gave\n%v\nwant\n%v", kb, ld, got, want)
			}
		}
	}
}

// Likewise for the 16-row transposing pack (op(B) stored transposed).
func TestPack16Vector(t *testing.T) {
	if packT16 == nil {
		t.Skip("no vector pack on this platform/build")
	}
	for _, kb := range []int{1, 7, 8, 9, 16, 23, 256} {
		for _, ld := range []int{kb, kb + 1, kb + 13} {
			s := make([]float32, 15*ld+kb+3)
			for i := range s {
				s[i] = float32(i) // every element distinct
			}
			want := make([]float32, 16*kb+4)
			for p := 0; p < kb; p++ {
				for x := 0; x < 16; x++ {
					want[p*16+x] = s[2+x*ld+p]
				}
			}
			got := make([]float32, 16*kb+4)
			for i := 16 * kb; i < len(got); i++ {
				got[i], want[i] = -7, -7 // a guard past the panel
			}
			pack16(got, s, ld, 2, kb)
			if !slices.Equal(got, want) {
				t.Fatalf("kb=%d ld=%d: pack16 gave\n%v\nwant\n%v", kb, ld, got, want)
			}
		}
	}
}
