package accel

import (
	"runtime"

	"github.com/murmur-fl/murmur/runtime/kernels"
)

// exactMicro is set by an architecture file when the CPU has a vector
// kernel that rounds every product and sum exactly as kernels.Portable does.
var exactMicro microKernel

// Exact gives bit-identical results to kernels.Portable (the wasm core's
// in-guest kernels) but runs vectorized and on several cores: products are
// rounded to float32 and then added (no FMA), each C element sums its k
// in the same order and the same kc-sized chunks as Portable, and
// vectorizing across columns or splitting rows across goroutines does not
// change any element's arithmetic. Use it when a host must offload GEMM yet
// keep training bit-identical to the in-guest result; Native is faster.
type Exact struct {
	// Threads is the number of goroutines to use; 0 means GOMAXPROCS.
	Threads int

	generic bool // tests force the fallback path with this
}

// Name implements kernels.Backend.
func (Exact) Name() string { return "exact" }

// Kernel names the micro-kernel in use ("avx" or "portable").
func (e Exact) Kernel() string {
	if exactMicro.run == nil || e.generic {
		return "portable"
	}
	return exactMicro.name
}

// Gemm implements kernels.Backend.
func (e Exact) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	kernels.CheckGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		kernels.ScaleC(m, n, beta, c, ldc)
		return
	}
	threads := e.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	if 2*float64(m)*float64(n)*float64(k) < parallelFlops {
		threads = 1
	}
	if exactMicro.run == nil || e.generic {
		portableRows(threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	// Portable computes round(round(beta*C) + round(alpha*acc)) on the first
	// k-block; scaling C first and then accumulating rounds identically.
	if beta != 0 && beta != 1 {
		kernels.ScaleC(m, n, beta, c, ldc)
		beta = 1
	}
	blocked(exactMicro, threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
