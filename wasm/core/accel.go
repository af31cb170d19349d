//go:build wasip1

package main

import (
	"unsafe"

	"github.com/murmur-fl/murmur/runtime/kernels"
)

// hostGemm is murmur_accel.gemm (wasm/ABI.md): the host runs the GEMM on
// its accelerator, reading and writing the operands in this module's memory
// in place. It returns 0 when done.
//
//go:wasmimport murmur_accel gemm
func hostGemm(flags, m, n, k int32, alpha float32, a unsafe.Pointer, lda int32, b unsafe.Pointer, ldb int32, beta float32, c unsafe.Pointer, ldc int32) int32

// hostBackend offloads GEMM to the host and falls back to the in-guest
// kernels when the host declines.
type hostBackend struct{}

func (hostBackend) Name() string { return "host" }

func (hostBackend) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	var flags int32
	if transA {
		flags |= 1
	}
	if transB {
		flags |= 2
	}
	if hostGemm(flags, int32(m), int32(n), int32(k), alpha, ptr(a), int32(lda), ptr(b), int32(ldb), beta, ptr(c), int32(ldc)) != 0 {
		kernels.Portable{}.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}

func ptr(s []float32) unsafe.Pointer {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Pointer(&s[0])
}

// benchHostCalls calls the GEMM import n times with empty operands, so a
// host can measure the cost of one guest-to-host call (wasm/ABI.md,
// diagnostics).
//
//go:wasmexport bench_host_calls
func benchHostCalls(n int32) int32 {
	var r int32
	for i := int32(0); i < n; i++ {
		r += hostGemm(0, 0, 0, 0, 1, nil, 1, nil, 1, 0, nil, 1)
	}
	return r
}
