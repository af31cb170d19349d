//go:build wasip1

// Command conformcore runs the kernels conformance suite through the real
// wasm boundary: a guest that speaks the core's handshake and whose export
// conformance sends GEMM cases and every kernel op to the host through
// wasm/core/hostaccel (the training core's own offload backend), checking
// GEMM against the float64 reference and the ops bit for bit against the
// in-guest portable kernels.
package main

import (
	"math/rand/v2"
	"unsafe"

	"github.com/murmur-fl/murmur/runtime/kernels/kerneltest"
	"github.com/murmur-fl/murmur/wasm/core/hostaccel"
)

// abi is the ABI version it claims; tests build with -ldflags=-X main.abi=N.
var abi = "4"

func main() {}

//go:wasmexport abi_version
func abiVersion() int32 {
	v := int32(0)
	for _, c := range abi {
		v = v*10 + c - '0'
	}
	return v
}

//go:wasmexport init
func initExport(int32) int32 { return 0 }

var lastErr []byte

//go:wasmexport last_error_ptr
func lastErrorPtr() unsafe.Pointer {
	if len(lastErr) == 0 {
		return nil
	}
	return unsafe.Pointer(&lastErr[0])
}

//go:wasmexport last_error_len
func lastErrorLen() int32 { return int32(len(lastErr)) }

// conformance returns the number of failed cases (the first failure's
// message is at last_error_ptr). The backend is eager, so the checks can
// read each kernel's output and results at once.
//
//go:wasmexport conformance
func conformance(seed int64) int32 {
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	b := &hostaccel.Backend{Eager: true}
	fails := int32(0)
	fail := func(err error) {
		if fails == 0 {
			lastErr = []byte(err.Error())
		}
		fails++
	}
	alphas := []float32{1, -1, 0.5, 3}
	betas := []float32{0, 1, -0.25, 2}
	// The shapes exercise the plumbing (transposes, leading dimensions,
	// alpha and beta, one block-crossing case); the native suite covers the
	// kernels' blocking in depth. The float64 reference runs in the guest,
	// so they stay small.
	for i := 0; i < 30; i++ {
		m, n, k := 1+rng.IntN(24), 1+rng.IntN(24), 1+rng.IntN(64)
		if i == 0 {
			m, n, k = 130, 20, 260
		}
		c := kerneltest.NewCase(rng, rng.IntN(2) == 1, rng.IntN(2) == 1, m, n, k, rng.IntN(5),
			alphas[rng.IntN(len(alphas))], betas[rng.IntN(len(betas))])
		if err := kerneltest.Check(b, c); err != nil {
			fail(err)
		}
	}
	for _, c := range kerneltest.OpCases(rng) {
		if err := kerneltest.CheckOp(b, c); err != nil {
			fail(err)
		}
	}
	return fails
}
