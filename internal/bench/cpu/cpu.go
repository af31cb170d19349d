// Package cpu is a calibration suite: a fixed scalar float32 loop whose
// speed tells how loaded the machine is when other suites were measured.
package cpu

import (
	"context"

	"github.com/murmur-fl/murmur/internal/bench"
)

func init() {
	bench.Register(bench.Suite{
		Name: "cpu",
		Doc:  "calibration: a fixed scalar loop, to compare machines and load",
		Run: func(ctx context.Context, cfg bench.Config, emit func(bench.Result)) error {
			n := 1 << 22
			if cfg.Quick {
				n = 1 << 16
			}
			var sink float32
			st := bench.Time(7, 0, func() { sink += loop(n) })
			_ = sink
			emit(bench.Result{Bench: "cpu/fma-loop/go", Value: st.Rate(float64(2*n)) / 1e9, Unit: "GFLOP/s", Extra: st.Extra(float64(2*n) / 1e9)})
			return nil
		},
	})
}

func loop(n int) float32 {
	a, b := float32(1.0001), float32(0.9999)
	var s float32
	for i := 0; i < n; i++ {
		s = s*b + a
	}
	return s
}
