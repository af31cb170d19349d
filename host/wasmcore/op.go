package wasmcore

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"unsafe"

	"github.com/murmur-fl/murmur/runtime/kernels"
)

// opDescSize is the size of the op descriptor in guest memory (wasm/ABI.md,
// "Op descriptor"): 10 float32 arrays and 2 int32 arrays as (pointer,
// length) pairs, 8 int32 sizes, 8 float32 scalars, 4 float64 results.
const opDescSize = 10*8 + 2*8 + 8*4 + 8*4 + 4*8

const (
	offI = 10 * 8
	offN = offI + 2*8
	offS = offN + 8*4
	offR = offS + 8*4
)

// memory is the part of api.Memory the op decoder needs: a view of n
// bytes at off, or false when that lies outside the memory.
type memory interface {
	Read(off, n uint32) ([]byte, bool)
}

// A batch entry (wasm/ABI.md, "Batches"): kind (0 op, 1 GEMM) and op as
// u32s, then an op descriptor; for a GEMM the descriptor holds f0..f2 = A,
// B, C, n0..n6 = flags, m, n, k, lda, ldb, ldc and s0, s1 = alpha, beta.
const (
	batchEntrySize = 8 + opDescSize
	maxBatch       = 4096
)

// batchImport answers murmur_accel.run: it runs count entries at list in
// order. It returns 0 when all ran, 1 when no backend is configured (none
// ran: the guest runs them itself), and 2 + i when entry i was bad (the
// ones before it ran), like op and gemm one at a time.
func batchImport(b kernels.Backend, mem memory, list, count uint32) uint32 {
	if b == nil {
		return 1
	}
	if count > maxBatch {
		return 2
	}
	if count == 0 {
		return 0 // the guest asking whether a backend is there
	}
	le := binary.LittleEndian
	args := argsPool.Get().(*kernels.Args) // one for the batch's ops
	defer func() {
		*args = kernels.Args{} // keep no view of guest memory
		argsPool.Put(args)
	}()
	for i := range count {
		e := list + i*batchEntrySize
		hdr, ok := mem.Read(e, 8)
		if !ok || uint64(list)+uint64(i+1)*batchEntrySize > math.MaxUint32 {
			return 2 + i
		}
		var st uint32
		switch kind := le.Uint32(hdr); kind {
		case 0:
			st = runOp(b, mem, kernels.Op(le.Uint32(hdr[4:])), e+8, args)
		case 1:
			st = batchGemm(b, mem, e+8)
		default:
			st = 2
		}
		if st != 0 {
			return 2 + i
		}
	}
	return 0
}

// batchGemm runs the GEMM described at ptr.
func batchGemm(b kernels.Backend, mem memory, ptr uint32) uint32 {
	if ptr%8 != 0 {
		return 2
	}
	d, ok := mem.Read(ptr, opDescSize)
	if !ok {
		return 2
	}
	le := binary.LittleEndian
	n := func(k int) int32 { return int32(le.Uint32(d[offN+4*k:])) }
	s := func(k int) float32 { return math.Float32frombits(le.Uint32(d[offS+4*k:])) }
	return gemmCall(b, mem, gemmDesc{
		flags: uint32(n(0)), m: n(1), n: n(2), k: n(3), lda: n(4), ldb: n(5), ldc: n(6),
		a: le.Uint32(d[0:]), b: le.Uint32(d[8:]), c: le.Uint32(d[16:]),
		alpha: s(0), beta: s(1),
	})
}

// runOpEntry runs kernel op, a batch entry's, on the operands that the
// descriptor at ptr points to in guest memory, in place, and writes the
// op's results back into the descriptor. It returns 0 when done, 1 when no
// backend is configured, and 2 when the
// descriptor or the operands are bad: outside guest memory, misaligned, too
// short for the op, an unknown op. A guest can never make the host panic
// through it.
func runOpEntry(b kernels.Backend, mem memory, op kernels.Op, ptr uint32) uint32 {
	if b == nil {
		return 1
	}
	args := argsPool.Get().(*kernels.Args)
	defer func() {
		*args = kernels.Args{} // keep no view of guest memory
		argsPool.Put(args)
	}()
	return runOp(b, mem, op, ptr, args)
}

// runOp is runOpEntry with args to decode into (a batch reuses one).
func runOp(b kernels.Backend, mem memory, op kernels.Op, ptr uint32, args *kernels.Args) uint32 {
	desc, err := decodeOp(mem, ptr, args)
	if err != nil {
		return 2
	}
	// Checked here, not only by RunOn's portable path: b may be an
	// OpsBackend, which gets its operands as they are.
	if kernels.CheckOp(op, args) != nil {
		return 2
	}
	if err := kernels.RunOn(b, op, args); err != nil {
		return 2
	}
	for k, r := range args.R {
		binary.LittleEndian.PutUint64(desc[offR+8*k:], math.Float64bits(r))
	}
	return 0
}

// argsPool recycles runOpEntry's Args, which escape through the backend's
// interface: an op call must not allocate.
var argsPool = sync.Pool{New: func() any { return new(kernels.Args) }}

// decodeOp reads the descriptor at ptr into a, whose slices then alias
// guest memory, and returns the descriptor (a view, for writing the
// results).
func decodeOp(mem memory, ptr uint32, a *kernels.Args) ([]byte, error) {
	*a = kernels.Args{}
	if ptr%8 != 0 {
		return nil, fmt.Errorf("op descriptor at %#x is not 8-byte aligned", ptr)
	}
	desc, ok := mem.Read(ptr, opDescSize)
	if !ok {
		return nil, fmt.Errorf("op descriptor at %#x lies outside guest memory", ptr)
	}
	le := binary.LittleEndian
	for k := range a.F {
		p, n := le.Uint32(desc[8*k:]), le.Uint32(desc[8*k+4:])
		v, err := view[float32](mem, p, n)
		if err != nil {
			return nil, fmt.Errorf("float array %d: %w", k, err)
		}
		a.F[k] = v
	}
	for k := range a.I {
		p, n := le.Uint32(desc[offI+8*k:]), le.Uint32(desc[offI+8*k+4:])
		v, err := view[int32](mem, p, n)
		if err != nil {
			return nil, fmt.Errorf("int array %d: %w", k, err)
		}
		a.I[k] = v
	}
	for k := range a.N {
		a.N[k] = int(int32(le.Uint32(desc[offN+4*k:])))
	}
	for k := range a.S {
		a.S[k] = math.Float32frombits(le.Uint32(desc[offS+4*k:]))
	}
	return desc, nil
}

// view returns the n 4-byte elements at ptr as a slice aliasing guest
// memory (nil for n == 0).
func view[T float32 | int32](mem memory, ptr, n uint32) ([]T, error) {
	if n == 0 {
		return nil, nil
	}
	if ptr%4 != 0 {
		return nil, fmt.Errorf("pointer %#x is not 4-byte aligned", ptr)
	}
	if uint64(n)*4 > math.MaxUint32 {
		return nil, fmt.Errorf("%d elements overflow guest memory", n)
	}
	buf, ok := mem.Read(ptr, n*4)
	if !ok {
		return nil, fmt.Errorf("%d elements at %#x lie outside guest memory", n, ptr)
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(buf))), n), nil
}
