package accel

import (
	"runtime"

	"github.com/murmur-fl/murmur/runtime/kernels"
)

// Exact is kernels.Portable (the wasm core's in-guest GEMM) with the rows of
// C split across goroutines: bit-identical to "go" because each element of
// C is still computed by one call of Portable, with the same operations in
// the same order, whichever rows a goroutine gets. Portable itself is
// vectorized natively (see kernels.Portable), so there is no separate
// kernel here. Use it when a host must offload GEMM yet keep training
// bit-identical to the in-guest result; Native is faster.
//
// It predates Portable's vector kernel and is kept, with its "exact" name,
// for existing callers.
type Exact struct {
	// Threads is the number of goroutines to use; 0 means GOMAXPROCS.
	Threads int
}

// Name implements kernels.Backend.
func (Exact) Name() string { return "exact" }

// Kernel names the micro-kernel in use, that of kernels.Portable: "avx",
// "neon" or "go" (pure Go).
func (Exact) Kernel() string { return kernels.Portable{}.Kernel() }

// Gemm implements kernels.Backend.
func (e Exact) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	kernels.CheckGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	threads := e.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	if 2*float64(m)*float64(n)*float64(k) < parallelFlops {
		threads = 1
	}
	portableRows(threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
