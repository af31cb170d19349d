//go:build wasip1

// Package hostaccel is the guest side of the murmur_accel imports
// (wasm/ABI.md): a kernels backend that hands GEMM and every other kernel
// op to the host, which runs them natively on this module's memory. The
// training core installs it with use_accel; host/wasmcore's tests build a
// small module around it to run the kernels conformance suite through the
// real wasm boundary.
//
// Calls are batched: the backend records each kernel in a list and hands
// the host the whole list in one murmur_accel.run call when a result is
// needed (an op that returns values, such as an evaluation's counts), when
// the list is full, or at Flush (kernels.Sync). A host call costs
// microseconds in a real step (cold caches on both sides of wazero's
// exit), and training queues its steps (the loss and the guard of the
// update are kernel outputs too), so several steps of a small model reach
// the host in one call. The guest never reads a kernel's output between
// those points: its code only passes buffers from kernel to kernel.
package hostaccel

import (
	"fmt"
	"unsafe"

	"github.com/murmur-fl/murmur/runtime/kernels"
)

// hostRun is murmur_accel.run (wasm/ABI.md): the host runs count batch
// entries at list in order, in place in this module's memory, writing each
// op's results into its descriptor. It returns 0 when all ran, 1 when it
// has no backend (none ran), 2 + i when it rejected entry i.
//
//go:wasmimport murmur_accel run
func hostRun(list unsafe.Pointer, count int32) int32

// opDesc is kernels.Args as the host reads it: 192 bytes, little-endian,
// no padding (wasm/ABI.md, "Op descriptor"). A GEMM uses f0..f2 for A, B,
// C, n0..n6 for flags, m, n, k, lda, ldb, ldc and s0, s1 for alpha, beta.
type opDesc struct {
	f [10][2]uint32 // float32 arrays: pointer, length in elements
	i [2][2]uint32  // int32 arrays: pointer, length in elements
	n [8]int32
	s [8]float32
	r [4]float64 // results, written by the host
}

// entry is one batch entry: 200 bytes.
type entry struct {
	kind uint32 // 0 op, 1 GEMM
	op   uint32
	d    opDesc
}

const (
	kindOp   = 0
	kindGemm = 1
)

// The batch; the core is single-threaded. 256 entries (50 KB) hold about
// 18 steps of the MLP, 3 of the CNN at batch 64 (one im2col and GEMM per
// example) and one of the GRU.
var (
	batch  [256]entry
	queued int
)

// returnsValues marks the ops whose results the caller reads at once
// (indexed by op & 31: no bounds check, no branch).
var returnsValues = [32]bool{kernels.OpXentEval: true, kernels.OpRangeCheck: true, kernels.OpPermute: true}

// Backend offloads GEMM and the other kernels (kernels.Op) to the host.
// Install it only when Available.
type Backend struct {
	// Eager runs each kernel at once and returns every op's results (the
	// conformance suite checks them all); the training core batches.
	Eager bool
}

// Available reports whether the host runs kernels (it has a backend).
func Available() bool { return hostRun(nil, 0) == 0 }

// RunOp implements kernels.OpsBackend. It records the op, and runs the
// batch when the op returns values or the batch is full.
func (b *Backend) RunOp(op kernels.Op, a *kernels.Args) bool {
	// Straight-line code, no loops: under a host-enforced deadline every
	// loop back-edge and taken branch of the guest may cost a call into
	// the host.
	e := &batch[queued]
	queued++
	f, i, n := &a.F, &a.I, &a.N
	e.kind, e.op = kindOp, uint32(op)
	e.d.f = [10][2]uint32{span(f[0]), span(f[1]), span(f[2]), span(f[3]), span(f[4]),
		span(f[5]), span(f[6]), span(f[7]), span(f[8]), span(f[9])}
	e.d.i = [2][2]uint32{spanI(i[0]), spanI(i[1])}
	e.d.n = [8]int32{int32(n[0]), int32(n[1]), int32(n[2]), int32(n[3]), int32(n[4]), int32(n[5]), int32(n[6]), int32(n[7])}
	e.d.s = a.S
	if b2u(returnsValues[op&31])|b2u(queued == len(batch))|b2u(b.Eager) != 0 {
		Flush()
		a.R = e.d.r
	}
	return true
}

// Sync implements kernels.SyncBackend: it runs the recorded kernels.
func (*Backend) Sync() { Flush() }

// Name implements kernels.Backend.
func (*Backend) Name() string { return "host" }

// Gemm implements kernels.Backend: it records the GEMM (the host checks the
// operands and handles empty matrices).
func (h *Backend) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	e := &batch[queued]
	queued++
	e.kind, e.op = kindGemm, 0
	e.d.f[0], e.d.f[1], e.d.f[2] = span(a), span(b), span(c)
	e.d.n = [8]int32{int32(b2u(transA) | b2u(transB)<<1), int32(m), int32(n), int32(k), int32(lda), int32(ldb), int32(ldc)}
	e.d.s[0], e.d.s[1] = alpha, beta
	if b2u(queued == len(batch))|b2u(h.Eager) != 0 {
		Flush()
	}
}

// Flush runs the recorded kernels. The core calls it before it returns to
// the host, which may then read what they wrote.
func Flush() {
	if queued == 0 {
		return
	}
	n := queued
	queued = 0
	switch st := hostRun(unsafe.Pointer(&batch[0]), int32(n)); st {
	case 0:
	case 1:
		panic("the host has no accelerator backend (install Backend only when Available)")
	default:
		// The in-guest code would fail the same way; say who refused.
		e := &batch[st-2]
		if e.kind == kindGemm {
			panic(fmt.Sprintf("host rejected GEMM operands m=%d n=%d k=%d", e.d.n[1], e.d.n[2], e.d.n[3]))
		}
		panic(fmt.Sprintf("host rejected the operands of kernel op %s", kernels.Op(e.op)))
	}
}

// Discard drops the recorded kernels (after a panic, which leaves the
// step's buffers to be overwritten anyway).
func Discard() { queued = 0 }

// span is the descriptor entry of s: its address and length.
func span(s []float32) [2]uint32 {
	return [2]uint32{uint32(uintptr(unsafe.Pointer(unsafe.SliceData(s)))), uint32(len(s))}
}

// spanI is span for int32 arrays.
func spanI(s []int32) [2]uint32 {
	return [2]uint32{uint32(uintptr(unsafe.Pointer(unsafe.SliceData(s)))), uint32(len(s))}
}

// b2u is 1 for true, without a branch.
func b2u(v bool) uint8 { return *(*uint8)(unsafe.Pointer(&v)) }

// CallHost calls the batch import n times with an empty batch and returns
// the sum of its answers, so a host can measure the cost of one
// guest-to-host call (wasm/ABI.md, bench_host_calls).
func CallHost(n int32) int32 {
	var r int32
	for i := int32(0); i < n; i++ {
		r += hostRun(nil, 0)
	}
	return r
}
