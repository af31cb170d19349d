//go:build wasip1

// Package hostaccel is the guest side of the murmur_accel imports
// (wasm/ABI.md): a kernels backend that hands GEMM and every other kernel
// op to the host, which runs them natively on this module's memory. The
// training core installs it with use_accel; host/wasmcore's tests build a
// small module around it to run the kernels conformance suite through the
// real wasm boundary.
package hostaccel

import (
	"fmt"
	"unsafe"

	"github.com/murmur-fl/murmur/runtime/kernels"
)

// hostGemm is murmur_accel.gemm (wasm/ABI.md): the host runs the GEMM on
// its accelerator, reading and writing the operands in this module's memory
// in place. It returns 0 when done.
//
//go:wasmimport murmur_accel gemm
func hostGemm(flags, m, n, k int32, alpha float32, a unsafe.Pointer, lda int32, b unsafe.Pointer, ldb int32, beta float32, c unsafe.Pointer, ldc int32) int32

// hostOp is murmur_accel.op (wasm/ABI.md): the host runs kernel op on the
// operands described by the opDesc at desc, in this module's memory, and
// writes the op's results into desc.r. It returns 0 when done, 1 when it
// has no backend (the core then runs the op itself), 2 when it rejected the
// operands.
//
//go:wasmimport murmur_accel op
func hostOp(op int32, desc unsafe.Pointer) int32

// opDesc is kernels.Args as the host reads it: 192 bytes, little-endian,
// no padding (wasm/ABI.md, "Op descriptor").
type opDesc struct {
	f [10][2]uint32 // float32 arrays: pointer, length in elements
	i [2][2]uint32  // int32 arrays: pointer, length in elements
	n [8]int32
	s [8]float32
	r [4]float64 // results, written by the host
}

// desc is reused by every call: the core is single-threaded.
var desc opDesc

// Backend offloads GEMM and the other kernels (kernels.Op) to the host,
// and falls back to the in-guest kernels when the host declines.
type Backend struct{}

// RunOp implements kernels.OpsBackend.
func (*Backend) RunOp(op kernels.Op, a *kernels.Args) bool {
	// Straight-line code, no loops: under a host-enforced deadline every
	// loop back-edge of the guest may cost a call into the host.
	f, i, n := &a.F, &a.I, &a.N
	desc.f = [10][2]uint32{span(f[0]), span(f[1]), span(f[2]), span(f[3]), span(f[4]),
		span(f[5]), span(f[6]), span(f[7]), span(f[8]), span(f[9])}
	desc.i = [2][2]uint32{spanI(i[0]), spanI(i[1])}
	desc.n = [8]int32{int32(n[0]), int32(n[1]), int32(n[2]), int32(n[3]), int32(n[4]), int32(n[5]), int32(n[6]), int32(n[7])}
	desc.s = a.S
	switch hostOp(int32(op), unsafe.Pointer(&desc)) {
	case 0:
		a.R = desc.r
		return true
	case 1:
		return false
	default:
		// The in-guest code would fail the same way; say who refused.
		panic(fmt.Sprintf("host rejected the operands of kernel op %s", op))
	}
}

// span is the descriptor entry of s: its address and length.
func span(s []float32) [2]uint32 {
	return [2]uint32{uint32(uintptr(unsafe.Pointer(unsafe.SliceData(s)))), uint32(len(s))}
}

// spanI is span for int32 arrays.
func spanI(s []int32) [2]uint32 {
	return [2]uint32{uint32(uintptr(unsafe.Pointer(unsafe.SliceData(s)))), uint32(len(s))}
}

// Name implements kernels.Backend.
func (*Backend) Name() string { return "host" }

// Gemm implements kernels.Backend. Straight-line like RunOp (the host
// checks the operands and handles empty matrices).
func (*Backend) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	flags := int32(b2u(transA) | b2u(transB)<<1)
	if hostGemm(flags, int32(m), int32(n), int32(k), alpha, ptr(a), int32(lda), ptr(b), int32(ldb), beta, ptr(c), int32(ldc)) != 0 {
		kernels.Portable{}.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}

// ptr is the address of s's first element (or where it would be).
func ptr(s []float32) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(s)) }

// b2u is 1 for true, without a branch.
func b2u(v bool) uint8 { return *(*uint8)(unsafe.Pointer(&v)) }

// CallHost calls the GEMM import n times with empty operands and returns
// the sum of its answers, so a host can measure the cost of one
// guest-to-host call (wasm/ABI.md, bench_host_calls).
func CallHost(n int32) int32 {
	var r int32
	for i := int32(0); i < n; i++ {
		r += hostGemm(0, 0, 0, 0, 1, nil, 1, nil, 1, 0, nil, 1)
	}
	return r
}
