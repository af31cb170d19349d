package topk

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// reference: sort indices by (|a| desc, index asc), take k, sort by index.
func reference(a []float32, k int) []uint32 {
	idx := make([]uint32, len(a))
	for i := range idx {
		idx[i] = uint32(i)
	}
	sort.SliceStable(idx, func(i, j int) bool { return Abs(a[idx[i]]) > Abs(a[idx[j]]) })
	if k > len(a) {
		k = len(a)
	}
	out := slices.Clone(idx[:k])
	slices.Sort(out)
	return out
}

func TestSelectMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, d := range []int{1, 7, 100, 5000, 40000, 200000} {
		for _, frac := range []float64{0.001, 0.01, 0.1, 0.5, 1} {
			a := make([]float32, d)
			for i := range a {
				a[i] = float32(r.NormFloat64() * r.ExpFloat64())
			}
			if d > 100 { // ties and zeros
				for i := 0; i < d/10; i++ {
					a[r.IntN(d)] = 0
					a[r.IntN(d)] = 0.5
				}
			}
			k := max(1, int(frac*float64(d)))
			got := Select(nil, a, k)
			want := reference(a, k)
			if !slices.Equal(got, want) {
				t.Fatalf("d=%d k=%d: selection differs from reference (got %d entries, want %d)", d, k, len(got), len(want))
			}
		}
	}
}

func TestSelectAllEqualFallsBack(t *testing.T) {
	a := make([]float32, 100000)
	for i := range a {
		a[i] = 1
	}
	got := Select(nil, a, 100)
	if len(got) != 100 || got[0] != 0 || got[99] != 99 {
		t.Fatalf("ties must resolve to the lowest indices; got len %d first %v", len(got), got[:min(3, len(got))])
	}
}

// TestAppendPassingKernel compares the AVX2 mask scan with the plain loop:
// every length 0..67 and more, thresholds on exact values, zeros of both
// signs, infinities.
func TestAppendPassingKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	for n := 0; n <= 300; n++ {
		a := make([]float32, n)
		for i := range a {
			a[i] = float32(r.IntN(9)-4) / 2
			switch r.IntN(10) {
			case 0:
				a[i] = float32(math.Copysign(0, -1))
			case 1:
				a[i] = float32(math.Inf(1 - 2*r.IntN(2)))
			}
		}
		for _, th := range []float32{0.5, 1, 1.5, 2, float32(math.Inf(1))} {
			got := appendPassing([]uint32{7}, a, th)
			want := []uint32{7}
			for i, x := range a {
				if Abs(x) >= th {
					want = append(want, uint32(i))
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("n=%d t=%v: kernel %v, Go %v", n, th, got, want)
			}
		}
	}
}
