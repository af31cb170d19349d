// Package gemm is the `murmur bench gemm` suite: GEMM throughput in GFLOP/s
// for every accelerator backend, with gonum's pure-Go Sgemm as an anchor.
// Rows are "gemm/<size>/<backend>" for square size×size×size products.
package gemm

import (
	"context"
	"fmt"
	"time"

	"github.com/murmur-fl/murmur/host/accel"
	"github.com/murmur-fl/murmur/internal/bench"
	"github.com/murmur-fl/murmur/runtime/kernels"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

func init() {
	bench.Register(bench.Suite{
		Name: "gemm",
		Doc:  "GEMM GFLOP/s at 128, 256, 1024 per backend (go, gonum anchor, native, exact, native on one core)",
		Run:  run,
	})
}

// Gonum adapts gonum's blas32 Sgemm (pure Go with SSE axpy kernels on amd64)
// to kernels.Backend; it is a benchmark anchor, not a registered backend.
type Gonum struct{}

// Name implements kernels.Backend.
func (Gonum) Name() string { return "gonum" }

// Gemm implements kernels.Backend.
func (Gonum) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	kernels.CheckGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	gonum.Implementation{}.Sgemm(ta, tb, m, n, k, alpha, a, max(1, lda), b, max(1, ldb), beta, c, max(1, ldc))
}

type variant struct {
	name string
	b    kernels.Backend
}

func variants() []variant {
	vs := []variant{}
	for _, b := range accel.Backends() {
		vs = append(vs, variant{b.Name(), b})
		if b.Name() == "go" {
			vs = append(vs, variant{"gonum", Gonum{}})
		}
	}
	if _, ok := accel.Lookup("native"); ok {
		vs = append(vs, variant{"native-1t", accel.Native{Threads: 1}})
	}
	return vs
}

// run times every variant round-robin at each size (one call of each per
// round) so that load from other processes, which comes and goes on shared
// machines, hits all variants alike and their ratios stay fair.
func run(ctx context.Context, cfg bench.Config, emit func(bench.Result)) error {
	sizes := []int{128, 256, 1024}
	runs, budget := 15, 2*time.Second
	if cfg.Quick {
		sizes = []int{64}
		runs, budget = 3, 50*time.Millisecond
	}
	vs := variants()
	for _, n := range sizes {
		a, b, c := fill(n*n, 1), fill(n*n, 2), make([]float32, n*n)
		flops := 2 * float64(n) * float64(n) * float64(n)
		want := make([]int, len(vs)) // repetitions per variant
		for i, v := range vs {
			want[i] = runs
			if (v.name == "go" || v.name == "gonum") && n >= 1024 && !cfg.Quick {
				want[i] = 5 // the slow ones: fewer repetitions keep the suite short
			}
			v.b.Gemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n) // warm-up
		}
		ds := make([][]time.Duration, len(vs))
		cpu := make([]time.Duration, len(vs))
		cpuOK := true
		start := time.Now()
		for more := true; more; {
			more = false
			for i, v := range vs {
				if len(ds[i]) >= want[i] || (len(ds[i]) >= 3 && time.Since(start) > budget*time.Duration(len(vs))) {
					continue
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				c0, ok0 := processCPU()
				t0 := time.Now()
				v.b.Gemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
				ds[i] = append(ds[i], time.Since(t0))
				c1, ok1 := processCPU()
				cpu[i] += c1 - c0
				cpuOK = cpuOK && ok0 && ok1
				more = true
			}
		}
		for i, v := range vs {
			st := bench.Summarize(ds[i])
			ex := st.Extra(flops / 1e9)
			ex["n"] = n
			cpuRate := 0.0
			if cpuOK && cpu[i] > 0 {
				// GFLOP per CPU-second over all calls (both threads count for
				// the multi-threaded variants): steadier on a busy machine.
				cpuRate = float64(len(ds[i])) * flops / 1e9 / cpu[i].Seconds()
				ex["gflop_per_cpu_s"] = cpuRate
			}
			if kb, ok := v.b.(interface{ Kernel() string }); ok {
				ex["kernel"] = kb.Kernel() // which micro-kernel ran (e.g. "avx" under "go")
			}
			res := bench.Result{Bench: fmt.Sprintf("gemm/%d/%s", n, v.name), Value: st.Rate(flops / 1e9), Unit: "GFLOP/s", Extra: ex}
			fmt.Fprintf(cfg.Log, "%s: %.2f GFLOP/s (median of %d; %.2f GFLOP per CPU-second)\n", res.Bench, res.Value, st.Runs, cpuRate)
			emit(res)
		}
	}
	return nil
}

func fill(n int, seed uint32) []float32 {
	s := make([]float32, n)
	x := seed
	for i := range s {
		x = x*1664525 + 1013904223
		s[i] = float32(x>>8)/float32(1<<24) - 0.5
	}
	return s
}
