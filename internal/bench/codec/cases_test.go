package codec

import (
	"os"
	"strings"
	"testing"
)

// BenchmarkCases times every case of the suite on the real updates, as Go
// benchmarks, so a codec can be profiled on exactly the bench's input:
//
//	go test -run '^$' -bench 'Cases/gru.secure-b8/' -cpuprofile cpu.out ./internal/bench/codec/
//
// MURMUR_BENCH_MODELS=cnn,gru picks the models (default gru).
func BenchmarkCases(b *testing.B) {
	models := []string{"gru"}
	if m := os.Getenv("MURMUR_BENCH_MODELS"); m != "" {
		models = strings.Split(m, ",")
	}
	for _, name := range models {
		before, after, shapes, err := update(name, 5, 32)
		if err != nil {
			b.Fatal(err)
		}
		delta := make([]float32, len(before))
		for i := range delta {
			delta[i] = after[i] - before[i]
		}
		cs, err := cases(name, before, after, delta, shapes)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range cs {
			blob, err := c.enc()
			if err != nil {
				b.Fatal(err)
			}
			b.Run(name+"."+c.name+"/encode", func(b *testing.B) {
				b.SetBytes(int64(4 * len(delta)))
				b.ReportAllocs()
				t0 := cpuTime()
				for b.Loop() {
					if _, err := c.enc(); err != nil {
						b.Fatal(err)
					}
				}
				reportCPU(b, int64(4*len(delta)), t0)
			})
			b.Run(name+"."+c.name+"/decode", func(b *testing.B) {
				b.SetBytes(int64(4 * len(delta)))
				b.ReportAllocs()
				t0 := cpuTime()
				for b.Loop() {
					if _, err := c.dec(blob); err != nil {
						b.Fatal(err)
					}
				}
				reportCPU(b, int64(4*len(delta)), t0)
			})
			if c.add == nil {
				continue
			}
			b.Run(name+"."+c.name+"/add", func(b *testing.B) {
				b.SetBytes(int64(4 * len(delta)))
				b.ReportAllocs()
				t0 := cpuTime()
				for b.Loop() {
					if err := c.add(blob); err != nil {
						b.Fatal(err)
					}
				}
				reportCPU(b, int64(4*len(delta)), t0)
			})
		}
	}
}
