// Command wasmgemm is built for GOOS=wasip1 by the kernels tests and run in
// wazero: it prints the Portable digest, then (with -bench) GFLOP/s lines
// "gflops <size> <value>" for square products.
package main

import (
	"flag"
	"fmt"
	"sort"
	"time"

	"github.com/murmur-fl/murmur/runtime/kernels"
	"github.com/murmur-fl/murmur/runtime/kernels/kerneltest"
)

func main() {
	benchSizes := flag.String("bench", "", "comma-free list of sizes, e.g. 128,256")
	runs := flag.Int("runs", 5, "timed repetitions per size (median reported)")
	flag.Parse()
	fmt.Println("digest", kerneltest.Digest(kernels.Portable{}))
	var sizes []int
	for _, f := range splitComma(*benchSizes) {
		var n int
		fmt.Sscan(f, &n)
		if n > 0 {
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		a, b, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
		for i := range a {
			a[i] = float32(i%7) - 3
			b[i] = float32(i%5) - 2
		}
		var ds []time.Duration
		kernels.Portable{}.Gemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
		for r := 0; r < *runs; r++ {
			t := time.Now()
			kernels.Portable{}.Gemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
			ds = append(ds, time.Since(t))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		fmt.Printf("gflops %d %.4f\n", n, 2*float64(n*n*n)/ds[len(ds)/2].Seconds()/1e9)
	}
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}
