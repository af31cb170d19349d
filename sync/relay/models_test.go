package relay

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkModelDelta is the relay's cost of one delta encoding (once per
// (from, to) pair, then cached) for a CNN-sized model served as bf16.
func BenchmarkModelDelta(b *testing.B) {
	const dim = 105866
	rng := rand.New(rand.NewPCG(1, 1))
	x1 := make([]float32, dim)
	for i := range x1 {
		x1[i] = float32(rng.NormFloat64()) * 0.05
	}
	x2 := make([]float32, dim)
	for i := range x2 {
		x2[i] = x1[i] + float32(rng.NormFloat64())*0.0005
	}
	m, err := newModels(DownloadConfig{Precision: "bf16"}, NewMemStore())
	if err != nil {
		b.Fatal(err)
	}
	_, s1, err := m.snapshot(1, x1)
	if err != nil {
		b.Fatal(err)
	}
	_, s2, err := m.snapshot(2, x2)
	if err != nil {
		b.Fatal(err)
	}
	m.kept[1] = s1
	b.SetBytes(4 * dim)
	var n int
	for b.Loop() {
		m.mu.Lock()
		clear(m.deltas)
		m.mu.Unlock()
		d, err := m.delta(1, s2)
		if err != nil {
			b.Fatal(err)
		}
		n = len(d.blob)
	}
	b.ReportMetric(float64(4*dim)/float64(n), "x-smaller")
}
