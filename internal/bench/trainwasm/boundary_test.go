package trainwasm

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/murmur-fl/murmur/host/accel"
	"github.com/murmur-fl/murmur/host/wasmcore"
	"github.com/murmur-fl/murmur/internal/bench/train"
	"github.com/murmur-fl/murmur/internal/corebuild"
	"github.com/murmur-fl/murmur/runtime/kernels"
)

// nullHost answers every GEMM and op import without doing the work (a
// range check finds nothing): a core step on it costs only the guest's
// own code and the boundary.
type nullHost struct{}

func (nullHost) Name() string { return "null" }
func (nullHost) Gemm(bool, bool, int, int, int, float32, []float32, int, []float32, int, float32, []float32, int) {
}
func (nullHost) RunOp(op kernels.Op, a *kernels.Args) bool {
	if op == kernels.OpRangeCheck {
		a.R[0] = -1
	}
	return true
}

// timedHost is a backend that adds the time spent in it to *spent.
type timedHost struct {
	kernels.Backend
	spent *atomic.Int64
}

func (t timedHost) Gemm(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	t0 := time.Now()
	t.Backend.Gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	t.spent.Add(int64(time.Since(t0)))
}

func (t timedHost) RunOp(op kernels.Op, a *kernels.Args) bool {
	t0 := time.Now()
	err := kernels.RunOn(kernels.Portable{}, op, a)
	t.spent.Add(int64(time.Since(t0)))
	return err == nil
}

// BenchmarkCoreStep times MLP training steps (batch 32 and 128) of the wasm
// core per host backend, in calls of 1 and of train.StepsPerCall steps,
// and reports ns and host-ns per step, the latter the time spent in the
// host's kernels: "null" shows the guest's code plus the boundary alone,
// and native vs native-1t the cost of the two-thread GEMM through the
// import.
//
//	go test -run XXX -bench CoreStep ./internal/bench/trainwasm
func BenchmarkCoreStep(b *testing.B) {
	ctx := context.Background()
	wasm, err := corebuild.Load(ctx)
	if err != nil {
		b.Fatal(err)
	}
	native, _ := accel.Lookup("native")
	for _, batch := range []int{32, 128} {
		for _, tc := range []struct {
			name string
			host kernels.Backend
		}{{"null", nullHost{}}, {"native", native}, {"native-1t", accel.Native{Threads: 1}}} {
			for _, perCall := range []int{1, train.StepsPerCall} {
				b.Run(fmt.Sprintf("b%d/%s/steps-per-call=%d", batch, tc.name, perCall), func(b *testing.B) {
					var spent atomic.Int64
					host := tc.host
					if tc.name != "null" {
						host = timedHost{tc.host, &spent}
					}
					e, err := wasmcore.NewEngine(ctx, wasm, &wasmcore.Config{Accel: host})
					if err != nil {
						b.Fatal(err)
					}
					defer e.Close(ctx)
					enginesMu.Lock()
					engines["bench-"+tc.name] = e
					enginesMu.Unlock()
					defer func() { enginesMu.Lock(); delete(engines, "bench-"+tc.name); enginesMu.Unlock() }()
					step, done, err := newWasm(train.Case{Name: fmt.Sprintf("mlp-b%d", batch), Model: "mlp", Batch: batch}, "bench-"+tc.name)
					if err != nil {
						b.Fatal(err)
					}
					defer done()
					if err := step(perCall); err != nil {
						b.Fatal(err)
					}
					spent.Store(0)
					b.ResetTimer()
					for b.Loop() {
						if err := step(perCall); err != nil {
							b.Fatal(err)
						}
					}
					steps := float64(b.N * perCall)
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/steps, "ns/step")
					b.ReportMetric(float64(spent.Load())/steps, "host-ns/step")
				})
			}
		}
	}
}

// BenchmarkPairedRatio measures wasm+native against native+native on the
// MLP (batch 32 and 128) as alternating pairs of runs of 320 steps in
// calls of train.StepsPerCall, and reports the median of the pairs'
// throughput ratios (and the quartiles): on a shared machine whose speed
// drifts between runs this is steadier than a ratio of two medians.
//
//	go test -run XXX -bench PairedRatio -benchtime 1x ./internal/bench/trainwasm
func BenchmarkPairedRatio(b *testing.B) {
	const pairs, steps = 21, 320
	for _, batch := range []int{32, 128} {
		for _, names := range [][2]string{{"wasm+native", "native+native"}, {"wasm+native-1t", "native+native-1t"}} {
			b.Run(fmt.Sprintf("mlp-b%d/%s", batch, names[0]), func(b *testing.B) {
				c := train.Case{Name: fmt.Sprintf("mlp-b%d", batch), Model: "mlp", Batch: batch}
				var runs [2]func(int) error
				for k, name := range names {
					v, ok := train.Named(name)
					if !ok {
						b.Fatalf("no variant %s", name)
					}
					run, done, err := v.New(c)
					if err != nil {
						b.Fatal(err)
					}
					defer done()
					runs[k] = run
				}
				timed := func(run func(int) error) time.Duration {
					t0 := time.Now()
					for i := 0; i < steps; i += train.StepsPerCall {
						if err := run(train.StepsPerCall); err != nil {
							b.Fatal(err)
						}
					}
					return time.Since(t0)
				}
				for b.Loop() {
					timed(runs[0]) // warm both
					timed(runs[1])
					ratios := make([]float64, pairs)
					for p := range ratios {
						var d [2]time.Duration
						for k := range 2 {
							i := (k + p) % 2 // alternate which runs first
							d[i] = timed(runs[i])
						}
						ratios[p] = float64(d[1]) / float64(d[0]) // wasm throughput / native
					}
					slices.Sort(ratios)
					b.ReportMetric(100*ratios[pairs/2], "%median")
					b.ReportMetric(100*ratios[pairs/4], "%q1")
					b.ReportMetric(100*ratios[3*pairs/4], "%q3")
				}
			})
		}
	}
}
