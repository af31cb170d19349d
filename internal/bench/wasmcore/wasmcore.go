// Package wasmcore is the `murmur bench wasm` suite: what hosting the
// training core costs. Rows:
//
//	wasm/instantiate/wazero    ms to instantiate a compiled core (and run its handshake)
//	wasm/instance-memory/mlp   KiB of linear memory of one instance holding the MLP and 600 examples
//	wasm/host-call/core-import ns per guest-to-host call of the core's accelerator import (murmur_accel.run, empty batch)
//	wasm/host-call/minimal     ns per call from a minimal module to a no-op host function: wazero's floor
//	wasm/compile/wazero        ms to compile the core (once per process)
package wasmcore

import (
	"context"
	"slices"
	"time"

	"github.com/murmur-fl/murmur/host/agent"
	"github.com/murmur-fl/murmur/host/wasmcore"
	"github.com/murmur-fl/murmur/internal/bench"
	"github.com/murmur-fl/murmur/internal/corebuild"
	"github.com/murmur-fl/murmur/runtime/kernels"
	"github.com/murmur-fl/murmur/runtime/nn"
)

func init() {
	bench.Register(bench.Suite{
		Name: "wasm",
		Doc:  "hosting the core: compile and instantiate time, memory per instance, host-call overhead",
		Run:  run,
	})
}

func run(ctx context.Context, cfg bench.Config, emit func(bench.Result)) error {
	wasm, err := corebuild.Load(ctx)
	if err != nil {
		return err
	}
	t0 := time.Now()
	e, err := wasmcore.NewEngine(ctx, wasm, &wasmcore.Config{Accel: kernels.Portable{}})
	if err != nil {
		return err
	}
	defer e.Close(context.Background())
	emit(bench.Result{Bench: "wasm/compile/wazero", Value: ms(time.Since(t0)), Unit: "ms", Extra: map[string]any{"bytes": len(wasm)}})

	runs := 20
	if cfg.Quick {
		runs = 3
	}
	var instErr error
	st := bench.Time(runs, 2*time.Second, func() {
		c, err := e.NewCore(ctx)
		if err != nil {
			instErr = err
			return
		}
		c.Close(ctx)
	})
	if instErr != nil {
		return instErr
	}
	emit(bench.Result{Bench: "wasm/instantiate/wazero", Value: ms(st.Median), Unit: "ms",
		Extra: map[string]any{"runs": st.Runs, "min": ms(st.Min), "max": ms(st.Max)}})

	// Memory of one device's instance: the MLP, its data and one round.
	c, err := e.NewCore(ctx)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	spec, _ := nn.Builtin("mlp")
	if err := c.Load(ctx, spec.JSON(), 1); err != nil {
		return err
	}
	const n = 600
	d := agent.Dataset{X: make([]float32, n*784), Labels: make([]int32, n), N: n}
	if err := c.SetData(ctx, 0, d); err != nil {
		return err
	}
	p, _ := c.Params(ctx, nil)
	if err := c.BeginRound(ctx, p, []byte(`{"lr":0.05,"momentum":0.9}`)); err != nil {
		return err
	}
	if _, err := c.Train(ctx, 5, 32, 1); err != nil {
		return err
	}
	emit(bench.Result{Bench: "wasm/instance-memory/mlp", Value: float64(c.MemoryBytes()) / 1024, Unit: "KiB",
		Extra: map[string]any{"examples": n, "params": len(p)}})

	// Guest-to-host call overhead.
	if err := c.UseAccel(ctx, true); err != nil {
		return err
	}
	calls := 1_000_000
	if cfg.Quick {
		calls = 10_000
	}
	var callErr error
	st = bench.Time(5, time.Second, func() { callErr = c.HostCalls(ctx, calls) })
	if callErr != nil {
		return callErr
	}
	emit(bench.Result{Bench: "wasm/host-call/core-import", Value: float64(st.Median.Nanoseconds()) / float64(calls), Unit: "ns",
		Extra: map[string]any{"calls": calls, "runs": st.Runs}})
	// Per-call times from inside the loop (the runtime set-up is not
	// timed); the median of the runs.
	var floors []time.Duration
	bench.Time(5, time.Second, func() {
		var d time.Duration
		if d, callErr = e.HostCallFloor(ctx, calls); callErr == nil {
			floors = append(floors, d)
		}
	})
	if callErr != nil {
		return callErr
	}
	slices.Sort(floors)
	emit(bench.Result{Bench: "wasm/host-call/minimal", Value: float64(floors[len(floors)/2].Nanoseconds()), Unit: "ns",
		Extra: map[string]any{"calls": calls, "runs": len(floors)}})
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
