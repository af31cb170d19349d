// Package wasmcore runs the murmur training core (a wasip1 reactor module,
// see wasm/ABI.md) in wazero. It is the only package that imports wazero.
//
// An Engine compiles the module once; NewCore instantiates it cheaply, one
// instance per simulated device. Every call runs under the Engine's memory
// cap and a per-call deadline; a guest that runs out of memory, traps,
// panics, loops or overruns returns a typed error and the host stays healthy
// (that instance is closed; make a new one).
package wasmcore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"time"
	"unsafe"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/murmur-fl/murmur/host/accel"
	"github.com/murmur-fl/murmur/runtime/kernels"
)

// ABIVersion is the version of wasm/ABI.md this host speaks.
const ABIVersion = 4

// Config sets an Engine's limits. The zero value (or nil) means defaults.
type Config struct {
	// MemoryLimitPages caps each instance's linear memory in 64 KiB pages.
	// Default 8192 (512 MiB).
	MemoryLimitPages uint32
	// CallTimeout bounds every call into the core. Default 2 minutes.
	CallTimeout time.Duration
	// Accel runs the core's GEMM import. Nil means the core uses its own
	// in-guest kernels.
	Accel kernels.Backend
	// CacheDir, if set, keeps compiled machine code across processes.
	CacheDir string
}

func (c *Config) withDefaults() Config {
	var out Config
	if c != nil {
		out = *c
	}
	if out.MemoryLimitPages == 0 {
		out.MemoryLimitPages = 8192
	}
	if out.CallTimeout == 0 {
		out.CallTimeout = 2 * time.Minute
	}
	return out
}

// Engine holds a compiled core. It is safe for concurrent use; instances
// are not.
type Engine struct {
	cfg      Config
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	hash     string
}

// NewEngine compiles the core module and checks its ABI version.
func NewEngine(ctx context.Context, wasm []byte, cfg *Config) (*Engine, error) {
	c := cfg.withDefaults()
	e := &Engine{cfg: c}
	rc := e.runtimeConfig()
	if c.CacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(c.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("wasmcore: compilation cache %s: %w", c.CacheDir, err)
		}
		rc = rc.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	e.rt = rt
	sum := sha256.Sum256(wasm)
	e.hash = hex.EncodeToString(sum[:])
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("wasmcore: WASI: %w", err)
	}
	if err := e.instantiateAccel(ctx); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("wasmcore: compile core (sha256 %.12s): %w", e.hash, err)
	}
	e.compiled = compiled
	return e, nil
}

// runtimeConfig is the wazero configuration of the engine's runtime: the
// memory cap, and a deadline on every call. The deadline makes wazero
// check for cancellation at every loop back-edge of the guest, which costs
// Go-compiled wasm about 5x in tight loops (wazero issue 2466); the core
// therefore hands its heavy loops to the host (murmur_accel.run).
func (e *Engine) runtimeConfig() wazero.RuntimeConfig {
	return wazero.NewRuntimeConfig().
		WithMemoryLimitPages(e.cfg.MemoryLimitPages).
		WithCloseOnContextDone(true)
}

// Hash is the SHA-256 of the core module, hex: its name.
func (e *Engine) Hash() string { return e.hash }

// Close frees the engine and every instance made from it.
func (e *Engine) Close(ctx context.Context) error { return e.rt.Close(ctx) }

// instantiateAccel provides the murmur_accel host module. Operands are read
// through Memory().Read, which returns a view of guest memory (no copy).
func (e *Engine) instantiateAccel(ctx context.Context) error {
	accel := e.cfg.Accel
	_, err := e.rt.NewHostModuleBuilder("murmur_accel").
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, stack []uint64) {
			stack[0] = uint64(batchImport(accel, m.Memory(), api.DecodeU32(stack[0]), api.DecodeU32(stack[1])))
		}), []api.ValueType{api.ValueTypeI32, api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}).
		WithParameterNames("list", "count").
		Export("run").
		Instantiate(ctx)
	if err != nil {
		return fmt.Errorf("wasmcore: host module murmur_accel: %w", err)
	}
	return nil
}

// gemmDesc is one GEMM call as the guest describes it: pointers into guest
// memory and the BLAS arguments.
type gemmDesc struct {
	flags         uint32
	m, n, k       int32
	alpha, beta   float32
	a, b, c       uint32
	lda, ldb, ldc int32
}

// gemmCall runs g on b over views of guest memory: 0 when done, 2 when an
// operand lies outside guest memory or the dimensions are inconsistent. A
// guest can never make the host panic through it.
func gemmCall(b kernels.Backend, mem memory, g gemmDesc) uint32 {
	m, n, k := int(g.m), int(g.n), int(g.k)
	lda, ldb, ldc := int(g.lda), int(g.ldb), int(g.ldc)
	if m < 0 || n < 0 || k < 0 || lda < 0 || ldb < 0 || ldc < 0 {
		return 2
	}
	ta, tb := g.flags&1 != 0, g.flags&2 != 0
	ar, ac := m, k
	if ta {
		ar, ac = k, m
	}
	br, bc := k, n
	if tb {
		br, bc = n, k
	}
	a, ok1 := viewF32(mem, g.a, ar, ac, lda)
	bb, ok2 := viewF32(mem, g.b, br, bc, ldb)
	c, ok3 := viewF32(mem, g.c, m, n, ldc)
	if !ok1 || !ok2 || !ok3 {
		return 2
	}
	if accel.Gemm(b, ta, tb, m, n, k, g.alpha, a, lda, bb, ldb, g.beta, c, ldc) != nil {
		return 2 // the guest passed inconsistent dimensions
	}
	return 0
}

// viewF32 returns the rows×cols matrix with row stride ld at ptr as a
// float32 slice aliasing guest memory.
func viewF32(mem memory, ptr uint32, rows, cols, ld int) ([]float32, bool) {
	if rows == 0 || cols == 0 {
		return nil, true
	}
	if ld < cols || ptr%4 != 0 {
		return nil, false
	}
	n := (rows-1)*ld + cols
	if uint64(n)*4 > math.MaxUint32 {
		return nil, false
	}
	buf, ok := mem.Read(ptr, uint32(n*4))
	if !ok {
		return nil, false
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(buf))), n), true
}

// Errors a Core call can return; test with errors.Is.
var (
	// ErrABIMismatch: the core speaks another ABI version.
	ErrABIMismatch = errors.New("wasmcore: ABI version mismatch")
	// ErrOutOfMemory: the guest hit the memory cap; the instance is closed.
	ErrOutOfMemory = errors.New("wasmcore: core ran out of memory")
	// ErrDeadline: the call overran its deadline or its context was
	// cancelled; the instance is closed.
	ErrDeadline = errors.New("wasmcore: call deadline exceeded")
	// ErrTrap: the guest trapped or exited (a Go panic or fatal error in the
	// core, an unreachable instruction); the instance is closed.
	ErrTrap = errors.New("wasmcore: core trapped")
	// ErrClosed: the instance was closed by an earlier failure or Close.
	ErrClosed = errors.New("wasmcore: core instance is closed")
	// ErrInput: the core rejected its input (ABI code ERR_INPUT).
	ErrInput = errors.New("wasmcore: core rejected input")
	// ErrState: a call out of order (ABI code ERR_STATE).
	ErrState = errors.New("wasmcore: call out of order")
	// ErrInternal: the core recovered from a panic (ABI code ERR_INTERNAL).
	ErrInternal = errors.New("wasmcore: core internal error")
)

// CallError is the error of one failed call into the core: which export,
// what kind (one of the Err values, via errors.Is), and the detail (the
// core's message or what the guest printed on stderr).
type CallError struct {
	Func   string
	Kind   error
	Detail string
	Err    error // the underlying wazero error, if any
}

func (e *CallError) Error() string {
	s := fmt.Sprintf("%v in %s", e.Kind, e.Func)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Is makes errors.Is(err, ErrOutOfMemory) and friends work.
func (e *CallError) Is(target error) bool { return target == e.Kind }

// Unwrap exposes the underlying wazero error.
func (e *CallError) Unwrap() error { return e.Err }
