// Package kerneltest is the conformance suite every kernels.Backend passes:
//
//	func TestConformance(t *testing.T) { kerneltest.Run(t, myBackend) }
//
// It compares Gemm against a float64 reference over all four transpose
// combinations, odd and degenerate shapes (m, n or k of 0 and 1), leading
// dimensions larger than the row width, and a range of alpha and beta,
// including beta == 0 with a NaN-filled C (which must not leak NaNs), NaN and
// Inf propagation from A and B, and untouched padding between rows of C.
// Backends that also implement kernels.OpsBackend are checked bit for bit
// against the portable Ops (RunOps).
//
// Tolerance: each element must be within (k+4)·2⁻²³·(|α|·Σ|a||b| + |β|·|c|)
// (plus 1e-30 absolute) of the float64 reference. That is twice the classic
// worst-case bound for a float32 dot product summed in any order, so it
// admits blocked summation, FMA and multi-threaded splits of k alike.
package kerneltest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/murmur-fl/murmur/runtime/kernels"
)

// Case is one Gemm call. A, B and C hold the stored matrices (row-major with
// their leading dimensions); C is the input and is not modified by Check.
type Case struct {
	TransA, TransB bool
	M, N, K        int
	Alpha, Beta    float32
	A              []float32
	LDA            int
	B              []float32
	LDB            int
	C              []float32
	LDC            int
}

func (c Case) String() string {
	return fmt.Sprintf("tA=%v tB=%v m=%d n=%d k=%d alpha=%g beta=%g lda=%d ldb=%d ldc=%d",
		c.TransA, c.TransB, c.M, c.N, c.K, c.Alpha, c.Beta, c.LDA, c.LDB, c.LDC)
}

// NewCase builds a random case with the given shape; pad adds that many
// extra columns to every leading dimension. Values are uniform in [-1, 1).
func NewCase(rng *rand.Rand, transA, transB bool, m, n, k, pad int, alpha, beta float32) Case {
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	cs := Case{TransA: transA, TransB: transB, M: m, N: n, K: k, Alpha: alpha, Beta: beta,
		LDA: max(1, ac+pad), LDB: max(1, bc+pad), LDC: max(1, n+pad)}
	cs.A = randSlice(rng, ar*cs.LDA)
	cs.B = randSlice(rng, br*cs.LDB)
	cs.C = randSlice(rng, m*cs.LDC)
	return cs
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

func (c Case) at(s []float32, ld int, trans bool, i, j int) float64 {
	if trans {
		return float64(s[j*ld+i])
	}
	return float64(s[i*ld+j])
}

// Reference returns the float64 result for the m×n block of C and the
// per-element error bound described in the package doc.
func (c Case) Reference() (want, tol []float64) {
	want = make([]float64, c.M*c.N)
	tol = make([]float64, c.M*c.N)
	const eps = 1.0 / (1 << 23)
	for i := 0; i < c.M; i++ {
		for j := 0; j < c.N; j++ {
			var sum, mag float64
			if c.Alpha != 0 {
				for p := 0; p < c.K; p++ {
					x := c.at(c.A, c.LDA, c.TransA, i, p) * c.at(c.B, c.LDB, c.TransB, p, j)
					sum += x
					mag += math.Abs(x)
				}
			}
			v := float64(c.Alpha) * sum
			mag = math.Abs(float64(c.Alpha)) * mag
			if c.Beta != 0 {
				cv := float64(c.Beta) * float64(c.C[i*c.LDC+j])
				v += cv
				mag += math.Abs(cv)
			}
			want[i*c.N+j] = v
			tol[i*c.N+j] = float64(c.K+4)*eps*mag + 1e-30
		}
	}
	return want, tol
}

// Check runs the case on b and returns an error describing the first
// mismatch, or a modified input, or a write outside the m×n block of C.
func Check(b kernels.Backend, c Case) error {
	a0, b0 := slices.Clone(c.A), slices.Clone(c.B)
	got := slices.Clone(c.C)
	b.Gemm(c.TransA, c.TransB, c.M, c.N, c.K, c.Alpha, c.A, c.LDA, c.B, c.LDB, c.Beta, got, c.LDC)
	if !slices.Equal(bitsOf(a0), bitsOf(c.A)) || !slices.Equal(bitsOf(b0), bitsOf(c.B)) {
		return fmt.Errorf("%v: Gemm modified A or B", c)
	}
	want, tol := c.Reference()
	for i := 0; i < c.M; i++ {
		for j := 0; j < c.LDC && i*c.LDC+j < len(c.C); j++ {
			idx := i*c.LDC + j
			if j >= c.N {
				if math.Float32bits(got[idx]) != math.Float32bits(c.C[idx]) {
					return fmt.Errorf("%v: wrote C[%d] (row %d, column %d) outside the %dx%d result", c, idx, i, j, c.M, c.N)
				}
				continue
			}
			w, g := want[i*c.N+j], float64(got[idx])
			if math.IsNaN(w) != math.IsNaN(g) || math.Abs(g-w) > tol[i*c.N+j] && !(math.IsInf(w, 0) && g == w) {
				return fmt.Errorf("%v: C[%d,%d] = %g, want %g (tolerance %g)", c, i, j, g, w, tol[i*c.N+j])
			}
		}
	}
	for idx := c.M * c.LDC; idx < len(c.C); idx++ {
		if math.Float32bits(got[idx]) != math.Float32bits(c.C[idx]) {
			return fmt.Errorf("%v: wrote C[%d] past the last row", c, idx)
		}
	}
	return nil
}

func bitsOf(s []float32) []uint32 {
	u := make([]uint32, len(s))
	for i, v := range s {
		u[i] = math.Float32bits(v)
	}
	return u
}

// Run checks b against the reference. It is the one-line conformance test
// for any backend.
func Run(t *testing.T, b kernels.Backend) {
	t.Helper()
	if b.Name() == "" {
		t.Errorf("backend has an empty Name")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	trs := []bool{false, true}
	t.Run("Degenerate", func(t *testing.T) {
		dims := []int{0, 1, 2, 3, 5}
		for _, ta := range trs {
			for _, tb := range trs {
				for _, m := range dims {
					for _, n := range dims {
						for _, k := range dims {
							for _, ab := range [][2]float32{{1, 0}, {-0.5, 1}, {2, -1.5}, {0, 0.5}} {
								c := NewCase(rng, ta, tb, m, n, k, 0, ab[0], ab[1])
								if err := Check(b, c); err != nil {
									t.Fatal(err)
								}
							}
						}
					}
				}
			}
		}
	})
	t.Run("RandomShapes", func(t *testing.T) {
		for iter := 0; iter < 120; iter++ {
			m, n, k := 1+rng.IntN(70), 1+rng.IntN(70), 1+rng.IntN(300)
			alphas := []float32{1, -1, 0.5, 3}
			betas := []float32{0, 1, -0.25, 2}
			c := NewCase(rng, rng.IntN(2) == 1, rng.IntN(2) == 1, m, n, k, rng.IntN(5),
				alphas[rng.IntN(len(alphas))], betas[rng.IntN(len(betas))])
			if err := Check(b, c); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("Blocks", func(t *testing.T) {
		// Shapes that cross typical block sizes (k > 256, n > 512, m > 128),
		// and m much larger than k (row splits of a transposed A).
		for _, s := range [][3]int{{129, 513, 257}, {200, 37, 600}, {5, 700, 1030}, {64, 64, 64}, {128, 128, 784}, {784, 70, 50}} {
			for _, ta := range trs {
				for _, tb := range trs {
					c := NewCase(rng, ta, tb, s[0], s[1], s[2], 3, 0.75, 0.5)
					if err := Check(b, c); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	})
	t.Run("BetaZeroIgnoresNaNInC", func(t *testing.T) {
		for _, ta := range trs {
			for _, tb := range trs {
				c := NewCase(rng, ta, tb, 9, 11, 13, 2, 1, 0)
				for i := range c.C {
					c.C[i] = float32(math.NaN())
				}
				// Keep padding NaN too: Check verifies it is untouched bit for bit.
				if err := Check(b, c); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
	t.Run("NaNInfPropagate", func(t *testing.T) {
		for _, ta := range trs {
			for _, tb := range trs {
				c := NewCase(rng, ta, tb, 6, 7, 9, 1, 1, 0)
				// Row 2 of op(A) is all zeros; column 3 of op(B) holds a NaN and
				// column 5 an Inf: 0*NaN and 0*Inf are NaN and must reach C.
				for p := 0; p < c.K; p++ {
					set(c.A, c.LDA, c.TransA, 2, p, 0)
				}
				set(c.B, c.LDB, c.TransB, 4, 3, float32(math.NaN()))
				set(c.B, c.LDB, c.TransB, 1, 5, float32(math.Inf(1)))
				set(c.A, c.LDA, c.TransA, 4, 0, float32(math.Inf(-1)))
				got := slices.Clone(c.C)
				b.Gemm(c.TransA, c.TransB, c.M, c.N, c.K, c.Alpha, c.A, c.LDA, c.B, c.LDB, c.Beta, got, c.LDC)
				for i := 0; i < c.M; i++ {
					if v := got[i*c.LDC+3]; !math.IsNaN(float64(v)) {
						t.Fatalf("%v: C[%d,3] = %g, want NaN (B holds a NaN in column 3)", c, i, v)
					}
				}
				if v := got[2*c.LDC+5]; !math.IsNaN(float64(v)) {
					t.Fatalf("%v: C[2,5] = %g, want NaN (0*Inf)", c, v)
				}
				if v := got[4*c.LDC+1]; !math.IsInf(float64(v), 0) && !math.IsNaN(float64(v)) {
					t.Fatalf("%v: C[4,1] = %g, want Inf or NaN (A holds -Inf in row 4)", c, v)
				}
				if err := Check(b, c); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
	if ob, ok := b.(kernels.OpsBackend); ok {
		t.Run("Ops", func(t *testing.T) { RunOps(t, ob) })
	}
	t.Run("Repeatable", func(t *testing.T) {
		c := NewCase(rng, false, true, 67, 45, 333, 1, 1, 0.5)
		x, y := slices.Clone(c.C), slices.Clone(c.C)
		b.Gemm(c.TransA, c.TransB, c.M, c.N, c.K, c.Alpha, c.A, c.LDA, c.B, c.LDB, c.Beta, x, c.LDC)
		b.Gemm(c.TransA, c.TransB, c.M, c.N, c.K, c.Alpha, c.A, c.LDA, c.B, c.LDB, c.Beta, y, c.LDC)
		if !slices.Equal(bitsOf(x), bitsOf(y)) {
			t.Fatalf("%v: two identical calls gave different bits", c)
		}
	})
	t.Run("BadArgumentsPanic", func(t *testing.T) {
		a := make([]float32, 12)
		bad := []struct {
			name string
			f    func()
		}{
			{"negative m", func() { b.Gemm(false, false, -1, 2, 2, 1, a, 2, a, 2, 0, a, 2) }},
			{"lda too small", func() { b.Gemm(false, false, 2, 2, 3, 1, a, 2, a, 2, 0, a, 2) }},
			{"short c", func() { b.Gemm(false, false, 4, 4, 1, 1, a, 1, a, 4, 0, a[:10], 4) }},
		}
		for _, tc := range bad {
			if !panics(tc.f) {
				t.Errorf("%s: Gemm did not panic", tc.name)
			}
		}
	})
}

func set(s []float32, ld int, trans bool, i, j int, v float32) {
	if trans {
		s[j*ld+i] = v
	} else {
		s[i*ld+j] = v
	}
}

func panics(f func()) (p bool) {
	defer func() { p = recover() != nil }()
	f()
	return false
}
