package wasmcore

import (
	"context"
	"fmt"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// floorModule is the smallest module that calls the host in a loop:
//
//	(module
//	  (import "murmur_floor" "f" (func $f (param i32) (result i32)))
//	  (func (export "loop") (param $n i32) (result i32)
//	    (local $s i32)
//	    (block (loop
//	      (br_if 1 (i32.eqz (local.get $n)))
//	      (local.set $s (i32.add (local.get $s) (call $f (local.get $n))))
//	      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
//	      (br 0)))
//	    (local.get $s)))
var floorModule = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x06, 0x01, 0x60,
	0x01, 0x7f, 0x01, 0x7f, 0x02, 0x12, 0x01, 0x0c, 0x6d, 0x75, 0x72, 0x6d,
	0x75, 0x72, 0x5f, 0x66, 0x6c, 0x6f, 0x6f, 0x72, 0x01, 0x66, 0x00, 0x00,
	0x03, 0x02, 0x01, 0x00, 0x07, 0x08, 0x01, 0x04, 0x6c, 0x6f, 0x6f, 0x70,
	0x00, 0x01, 0x0a, 0x25, 0x01, 0x23, 0x01, 0x01, 0x7f, 0x02, 0x40, 0x03,
	0x40, 0x20, 0x00, 0x45, 0x0d, 0x01, 0x20, 0x01, 0x20, 0x00, 0x10, 0x00,
	0x6a, 0x21, 0x01, 0x20, 0x00, 0x41, 0x01, 0x6b, 0x21, 0x00, 0x0c, 0x00,
	0x0b, 0x0b, 0x20, 0x01, 0x0b,
}

// HostCallFloor measures what one guest-to-host call costs wazero itself:
// a minimal module calls a host function that does nothing, calls times,
// in a runtime configured like the engine's (deadline checks included). It
// returns the mean time per call: the floor under Core.HostCalls.
func (e *Engine) HostCallFloor(ctx context.Context, calls int) (time.Duration, error) {
	rt := wazero.NewRuntimeWithConfig(ctx, e.runtimeConfig())
	defer rt.Close(ctx)
	_, err := rt.NewHostModuleBuilder("murmur_floor").NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, s []uint64) { s[0] = 1 }),
			[]api.ValueType{api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}).
		Export("f").Instantiate(ctx)
	if err != nil {
		return 0, fmt.Errorf("wasmcore: floor host module: %w", err)
	}
	m, err := rt.Instantiate(ctx, floorModule)
	if err != nil {
		return 0, fmt.Errorf("wasmcore: floor module: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, e.cfg.CallTimeout)
	defer cancel()
	t0 := time.Now()
	res, err := m.ExportedFunction("loop").Call(cctx, uint64(calls))
	el := time.Since(t0)
	if err != nil {
		return 0, fmt.Errorf("wasmcore: floor loop: %w", err)
	}
	if int(res[0]) != calls {
		return 0, fmt.Errorf("wasmcore: floor loop made %d host calls, want %d", res[0], calls)
	}
	return el / time.Duration(max(calls, 1)), nil
}
