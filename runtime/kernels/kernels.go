// Package kernels is the seam between the training core's math and whatever
// runs the heavy loops: the portable pure-Go default, a host accelerator
// reached through the wasm ABI, or a native backend.
//
// All matrices are dense, row-major float32 slices with an explicit leading
// dimension (the stride between rows), the BLAS convention, so a backend can
// work on sub-matrices of one contiguous parameter buffer without copying.
//
// Portable, the default, is deterministic: the same inputs give the same
// bits natively and in wasm (see Portable). The other loops of a training
// step (bias, activations, loss, pooling, im2col, embeddings, the GRU cell,
// the optimizer) are Ops: portable here, and taken over by a backend that
// also implements OpsBackend. The conformance suite for backends is in
// runtime/kernels/kerneltest.
package kernels

// Backend runs the heavy kernels. Implementations must be safe to call from
// one goroutine at a time per call site; the default is stateless.
type Backend interface {
	// Name identifies the backend in benchmarks and logs ("go", "native", ...).
	Name() string

	// Gemm computes C = alpha*op(A)*op(B) + beta*C where op(X) is X or X^T
	// as selected by transA/transB; op(A) is m×k, op(B) is k×n, C is m×n.
	// lda, ldb and ldc are the row strides of A, B and C as stored.
	// When beta == 0, C is overwritten without being read (NaNs in C do not
	// propagate), as in BLAS.
	Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
}

// installed is the backend in use, with its OpsBackend side asserted once:
// in the wasm guest a type assertion per op is a hash lookup loop, and every
// guest loop iteration may cost a call into the host.
type installed struct {
	b    Backend
	ops  OpsBackend  // declines every op when b runs none
	sync SyncBackend // does nothing when b runs kernels at once
}

// declineOps is the OpsBackend side of a backend without one.
type declineOps struct{}

func (declineOps) RunOp(Op, *Args) bool { return false }

// SyncBackend is an optional extension of Backend: a backend that may
// queue kernels and run them later, in batches (the wasm core's host
// backend: one call into the host per batch instead of one per kernel).
// Sync runs what is queued.
type SyncBackend interface {
	Sync()
}

// noSync is the SyncBackend side of a backend that runs kernels at once.
type noSync struct{}

func (noSync) Sync() {}

// Sync returns when every kernel called so far has run. Go code calls it
// before it reads what a kernel wrote (a loss, say): until then, with a
// queuing backend, the output may not be there yet. Passing a kernel's
// output to another kernel needs no Sync.
func Sync() { loadInstalled().sync.Sync() }

func init() { Use(nil) }

// Use makes b the backend for all subsequent kernel calls and returns the
// previous one, so callers (tests, the wasm core) can restore it.
func Use(b Backend) Backend {
	if b == nil {
		b = Portable{}
	}
	ops, ok := b.(OpsBackend)
	if !ok {
		ops = declineOps{}
	}
	sync, ok := b.(SyncBackend)
	if !ok {
		sync = noSync{}
	}
	old := swapInstalled(&installed{b, ops, sync})
	if old == nil {
		return nil
	}
	return old.b
}

// Current returns the backend in use.
func Current() Backend { return loadInstalled().b }

// Zero clears x on the current backend, as a GEMM with k = 0 and beta = 0
// (which overwrites C without reading it; every backend's conformance
// covers it), so that a host accelerator clears a wasm guest's gradients
// natively: a guest's memory.fill of an MLP's 400 KB of gradients costs
// wazero 3-4x what a native clear does.
func Zero(x []float32) {
	if len(x) > 0 {
		Current().Gemm(false, false, 1, len(x), 0, 0, nil, 1, nil, len(x), 0, x, len(x))
	}
}

// Gemm runs Gemm on the current backend.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	Current().Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
