package accel

import (
	"errors"
	"math"
	"testing"

	"github.com/murmur-fl/murmur/runtime/kernels/kerneltest"
)

// FuzzGemm feeds Gemm the shapes and slice lengths a guest could pass
// through the GEMM import: it must either return ErrBadGemm or compute the
// right answer, never panic or allocate by a guest-chosen size.
func FuzzGemm(f *testing.F) {
	f.Add(uint8(0), 3, 4, 5, 5, 4, 4, 15, 20, 12, float32(1), float32(0))
	f.Add(uint8(3), 7, 9, 2, 7, 2, 9, 14, 18, 63, float32(-0.5), float32(2))
	// Shapes whose products overflow int (2^40-1 on 64-bit; small on 32-bit,
	// where the literal 1<<40 would not compile).
	const big = math.MaxInt >> 23
	f.Add(uint8(1), big, 2, big, big, 2, 2, 4, 4, 4, float32(1), float32(1))
	f.Add(uint8(2), -1, 2, 2, 2, 2, 2, 4, 4, 4, float32(1), float32(1))
	f.Fuzz(func(t *testing.T, flags uint8, m, n, k, lda, ldb, ldc, la, lb, lc int, alpha, beta float32) {
		const maxLen = 1 << 12
		if la < 0 || lb < 0 || lc < 0 || la > maxLen || lb > maxLen || lc > maxLen {
			return // the host never has more guest memory than it reads
		}
		ta, tb := flags&1 != 0, flags&2 != 0
		c := kerneltest.Case{TransA: ta, TransB: tb, M: m, N: n, K: k, Alpha: alpha, Beta: beta, LDA: lda, LDB: ldb, LDC: ldc,
			A: ramp(la, 0.25), B: ramp(lb, -0.5), C: ramp(lc, 1)}
		var bs = []Native{{Threads: 1}, {Threads: 2}}
		for _, nb := range bs {
			got := append([]float32(nil), c.C...)
			err := Gemm(nb, ta, tb, m, n, k, alpha, c.A, lda, c.B, ldb, beta, got, ldc)
			if err != nil {
				if !errors.Is(err, ErrBadGemm) {
					t.Fatalf("error does not wrap ErrBadGemm: %v", err)
				}
				return
			}
		}
		if int64(m)*int64(n)*int64(k) > 1<<16 || !finite(alpha) || !finite(beta) {
			return // valid but too slow to check against the float64 reference here
		}
		if err := kerneltest.Check(Native{}, c); err != nil {
			t.Fatal(err)
		}
	})
}

func ramp(n int, scale float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = scale * float32(i%17-8) / 8
	}
	return s
}

func finite(f float32) bool { return f-f == 0 && f < 1e10 && f > -1e10 }
