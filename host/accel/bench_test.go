package accel

import (
	"fmt"
	"testing"

	"github.com/murmur-fl/murmur/runtime/kernels"
)

// BenchmarkGemm: square products per backend; SetBytes counts A, B and C
// once, and GFLOP/s is 2n³ per call.
func BenchmarkGemm(b *testing.B) {
	for _, n := range []int{128, 256, 1024} {
		for _, be := range []kernels.Backend{kernels.Portable{}, Native{}, Native{Threads: 1}, Exact{}} {
			name := be.Name()
			if nb, ok := be.(Native); ok && nb.Threads == 1 {
				name += "-1t"
			}
			b.Run(fmt.Sprintf("%d/%s", n, name), func(b *testing.B) {
				x, y, c := ramp(n*n, 1), ramp(n*n, -1), make([]float32, n*n)
				b.SetBytes(int64(3 * 4 * n * n))
				b.ReportAllocs()
				for b.Loop() {
					be.Gemm(false, false, n, n, n, 1, x, n, y, n, 0, c, n)
				}
				b.ReportMetric(2*float64(n)*float64(n)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkMicro times the bare native micro-kernel on packed panels that
// stay in L1 (k = 256): the ceiling for the whole GEMM on one core.
func BenchmarkMicro(b *testing.B) {
	if micro.run == nil {
		b.Skip("no native micro-kernel on this CPU/build")
	}
	const kb = 256
	ap, bp := ramp(kb*micro.mr, 1), ramp(kb*micro.nr, -1)
	c := make([]float32, micro.mr*micro.nr)
	for b.Loop() {
		micro.run(kb, &ap[0], &bp[0], &c[0], micro.nr, 1, 0)
	}
	b.ReportMetric(2*float64(kb*micro.mr*micro.nr)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
