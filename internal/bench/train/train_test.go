package train

import (
	"context"
	"strings"
	"testing"

	"github.com/murmur-fl/murmur/internal/bench"
	"github.com/murmur-fl/murmur/runtime/kernels"
)

func TestQuickRun(t *testing.T) {
	rows, err := bench.RunQuick(context.Background(), "train")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, c := range Cases() {
		want["train/"+c.Name+"/native"] = true
		want["train/"+c.Name+"/native+native"] = true
	}
	for _, r := range rows {
		if !strings.HasPrefix(r.Bench, "train/") || r.Unit != "examples/s" || !(r.Value > 0) {
			t.Errorf("bad row %+v", r)
		}
		if strings.HasSuffix(r.Bench, "/native+native") && r.Extra["kernels"] != "native" {
			t.Errorf("%s ran with kernels %v, want native", r.Bench, r.Extra["kernels"])
		}
		delete(want, r.Bench)
	}
	if len(want) > 0 {
		t.Fatalf("missing rows: %v (got %v)", want, rows)
	}
}

// BenchmarkStep profiles one training step per case:
// go test ./internal/bench/train -run XXX -bench Step/mlp-b128 -cpuprofile cpu.out
func BenchmarkStep(b *testing.B) {
	for _, c := range Cases() {
		b.Run(c.Name, func(b *testing.B) {
			run, done, err := newNative(c, kernels.Portable{})
			if err != nil {
				b.Fatal(err)
			}
			defer done()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := run(1); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*c.Batch)/b.Elapsed().Seconds(), "examples/s")
		})
	}
}
