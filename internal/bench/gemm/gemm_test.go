package gemm

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/murmur-fl/murmur/internal/bench"
	"github.com/murmur-fl/murmur/runtime/kernels/kerneltest"
)

func TestQuickSuite(t *testing.T) {
	rows, err := bench.RunQuick(context.Background(), "gemm")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range rows {
		if !strings.HasPrefix(r.Bench, "gemm/64/") || r.Unit != "GFLOP/s" || !(r.Value > 0) {
			t.Errorf("bad row %+v", r)
		}
		v := r.Bench[len("gemm/64/"):]
		seen[v] = true
		if k, _ := r.Extra["kernel"].(string); v != "gonum" && k == "" {
			t.Errorf("%s: no kernel name in %v", r.Bench, r.Extra)
		}
		if v, ok := r.Extra["gflop_per_cpu_s"]; ok && !(v.(float64) > 0) {
			t.Errorf("%s: gflop_per_cpu_s = %v", r.Bench, v)
		}
	}
	for _, v := range []string{"go", "gonum", "native", "exact", "native-1t"} {
		if !seen[v] {
			t.Errorf("no row for variant %q (got %v)", v, rows)
		}
	}
}

// The anchor is only meaningful if it computes the same thing. (It is not run
// through kerneltest.Run: gonum skips zero elements of A, so 0*NaN in B does
// not reach C, which the conformance suite rejects.)
func TestGonumAnchorAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			for _, s := range [][3]int{{1, 1, 1}, {7, 5, 3}, {33, 65, 300}} {
				c := kerneltest.NewCase(rng, ta, tb, s[0], s[1], s[2], 2, 0.5, -1)
				if err := kerneltest.Check(Gonum{}, c); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}
