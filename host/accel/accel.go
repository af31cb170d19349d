// Package accel holds the host's accelerator backends for the training
// core's heavy kernels, all behind kernels.Backend:
//
//   - "go": kernels.Portable, the reference, bit-identical to the in-guest
//     kernels of the wasm core (natively it runs a no-FMA vector
//     micro-kernel, on one goroutine);
//   - "native": Native, an AVX2+FMA (amd64) / NEON FMLA (arm64) assembly
//     GEMM spread over the cores (see README.md for why), with a portable
//     multi-core fallback elsewhere and with -tags purego; within
//     kerneltest's tolerance of "go", not bit-identical (FMA rounds once);
//   - "exact": Exact, kernels.Portable over row blocks on several
//     goroutines: bit-identical to "go", for offload that must not change
//     training results.
//
// The wasm host answers the core's GEMM import with one of these; it has
// float32 views of guest memory and untrusted shapes, so it should call
// Gemm, which validates and returns an error instead of panicking.
package accel

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/murmur-fl/murmur/runtime/kernels"
)

var (
	regMu    sync.Mutex
	registry = []kernels.Backend{kernels.Portable{}, Native{}, Exact{}}
)

// Backends returns the available backends, the reference ("go") first.
func Backends() []kernels.Backend {
	regMu.Lock()
	defer regMu.Unlock()
	return slices.Clone(registry)
}

// Lookup returns the backend with the given name ("go", "native", ...).
func Lookup(name string) (kernels.Backend, bool) {
	regMu.Lock()
	defer regMu.Unlock()
	for _, b := range registry {
		if b.Name() == name {
			return b, true
		}
	}
	return nil, false
}

// Register adds a backend (for example a GPU one behind a build tag). It
// fails if the name is empty or taken.
func Register(b kernels.Backend) error {
	regMu.Lock()
	defer regMu.Unlock()
	if b == nil || b.Name() == "" {
		return errors.New("accel: Register: backend has no name")
	}
	for _, o := range registry {
		if o.Name() == b.Name() {
			return fmt.Errorf("accel: Register: backend %q already registered", b.Name())
		}
	}
	registry = append(registry, b)
	return nil
}

// ErrBadGemm is wrapped by Gemm's errors for arguments that do not describe
// matrices inside the given slices.
var ErrBadGemm = errors.New("accel: bad gemm arguments")

// Gemm runs b.Gemm on float32 slices (for example views of guest memory)
// after checking the arguments, returning an error that names the bad
// argument instead of panicking. See kernels.Backend for the semantics.
func Gemm(b kernels.Backend, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, bm []float32, ldb int, beta float32, c []float32, ldc int) (err error) {
	if b == nil {
		return errors.New("accel: Gemm: nil backend")
	}
	if err := check(transA, transB, m, n, k, a, lda, bm, ldb, c, ldc); err != nil {
		return err
	}
	b.Gemm(transA, transB, m, n, k, alpha, a, lda, bm, ldb, beta, c, ldc)
	return nil
}

func check(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrBadGemm, r)
		}
	}()
	kernels.CheckGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	return nil
}
