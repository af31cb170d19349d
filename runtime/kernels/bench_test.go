package kernels_test

import (
	"fmt"
	"testing"

	"github.com/murmur-fl/murmur/runtime/kernels"
)

// BenchmarkGemm reports throughput for square and MLP-shaped products.
// SetBytes counts the operand bytes (A, B and C) so MB/s is comparable
// across shapes; the GFLOP/s metric is 2mnk per call.
func BenchmarkGemm(b *testing.B) {
	shapes := []struct {
		name    string
		tA, tB  bool
		m, n, k int
	}{
		{"128", false, false, 128, 128, 128},
		{"256", false, false, 256, 256, 256},
		{"1024", false, false, 1024, 1024, 1024},
		{"mlp-fwd-128x784x128", false, true, 128, 128, 784},
		{"mlp-dW-784x128x128", true, false, 784, 128, 128},
	}
	for _, s := range shapes {
		b.Run(s.name, func(b *testing.B) { benchGemm(b, kernels.Portable{}, s.tA, s.tB, s.m, s.n, s.k) })
	}
}

func benchGemm(b *testing.B, be kernels.Backend, tA, tB bool, m, n, k int) {
	a := fill(m * k)
	bb := fill(k * n)
	c := make([]float32, m*n)
	lda, ldb := k, n
	if tA {
		lda = m
	}
	if tB {
		ldb = k
	}
	b.SetBytes(int64(4 * (m*k + k*n + m*n)))
	b.ReportAllocs()
	for b.Loop() {
		be.Gemm(tA, tB, m, n, k, 1, a, lda, bb, ldb, 0, c, n)
	}
	b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func fill(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(i%13)/13 - 0.5
	}
	return s
}

var _ = fmt.Sprint
