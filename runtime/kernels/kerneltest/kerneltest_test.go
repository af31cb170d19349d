package kerneltest

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/murmur-fl/murmur/runtime/kernels"
)

// skipZeros is the classic shortcut that breaks NaN propagation: it skips
// zero elements of A, so 0*NaN in B never reaches C.
type skipZeros struct{ kernels.Portable }

func (skipZeros) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if av == 0 {
					continue
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}

// readsC multiplies C by beta even when beta == 0, so NaNs in C survive.
type readsC struct{ kernels.Portable }

func (readsC) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	kernels.Portable{}.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, 1, c, ldc)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			c[i*ldc+j] -= (1 - beta) * c[i*ldc+j] // wrong when c was NaN
		}
	}
}

// overwritesPadding clears whole rows of C including the ld padding.
type overwritesPadding struct{ kernels.Portable }

func (overwritesPadding) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	kernels.Portable{}.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	if m > 0 && ldc > n {
		c[n] = 42
	}
}

func TestCheckCatchesBrokenBackends(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	nan := NewCase(rng, false, false, 4, 5, 6, 0, 1, 0)
	for p := 0; p < nan.K; p++ {
		nan.A[p] = 0 // row 0 of A is zero
	}
	nan.B[2] = float32(math.NaN())
	if err := Check(skipZeros{}, nan); err == nil {
		t.Error("Check accepted a backend that drops 0*NaN")
	}
	nanC := NewCase(rng, true, false, 3, 3, 3, 0, 1, 0)
	for i := range nanC.C {
		nanC.C[i] = float32(math.NaN())
	}
	if err := Check(readsC{}, nanC); err == nil {
		t.Error("Check accepted a backend that reads C when beta == 0")
	}
	pad := NewCase(rng, false, true, 3, 3, 3, 2, 1, 1)
	if err := Check(overwritesPadding{}, pad); err == nil {
		t.Error("Check accepted a backend that writes the padding of C")
	}
	if err := Check(kernels.Portable{}, pad); err != nil {
		t.Errorf("Portable failed a plain case: %v", err)
	}
}

func TestDigestDistinguishesBackends(t *testing.T) {
	if Digest(kernels.Portable{}) == Digest(skipZeros{}) {
		t.Fatal("Digest does not see a different backend")
	}
	if Digest(kernels.Portable{}) != Digest(kernels.Portable{}) {
		t.Fatal("Digest is not repeatable")
	}
}

// opsPortable implements OpsBackend with the portable code, so Run
// exercises its Ops subtest.
type opsPortable struct{ kernels.Portable }

func (opsPortable) RunOp(op kernels.Op, a *kernels.Args) bool {
	return kernels.RunOn(kernels.Portable{}, op, a) == nil
}

func TestRunWithOpsBackend(t *testing.T) { Run(t, opsPortable{}) }

// wrongRelu changes one op's result; RunOps must notice.
type wrongRelu struct{ kernels.Portable }

func (wrongRelu) RunOp(op kernels.Op, a *kernels.Args) bool {
	if err := kernels.RunOn(kernels.Portable{}, op, a); err != nil {
		return false
	}
	if op == kernels.OpAct && len(a.F[1]) > 0 {
		a.F[1][0] += 1
	}
	return true
}

func TestCheckOpsCatchesWrongResults(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, c := range OpCases(rng) {
		if c.Op != kernels.OpAct {
			continue
		}
		if err := CheckOp(wrongRelu{}, c); err == nil {
			t.Fatalf("CheckOp accepted a backend whose %s differs", c.Op)
		}
		return
	}
	t.Fatal("OpCases has no act case")
}
