package kernels

import (
	"math"
	"slices"
	"testing"

	"github.com/murmur-fl/murmur/runtime/data"
	"github.com/murmur-fl/murmur/runtime/tensor"
)

// Permute is runtime/data's shuffle of 0..n-1 with runtime/tensor's
// generator: the same permutation and the same generator state after, for
// states that use all 64 bits (the op carries them in three sizes).
func TestPermuteIsDataShuffle(t *testing.T) {
	order := make([]int32, 10)
	Permute(order, tensor.NewRNG(1))
	// runtime/data's known answer for seed 1 (same SplitMix64 stream).
	if want := []int32{9, 0, 1, 4, 8, 2, 3, 7, 6, 5}; !slices.Equal(order, want) {
		t.Errorf("Permute(seed 1) = %v, want %v", order, want)
	}
	for _, seed := range []uint64{0, 1, 1<<31 - 1, 1 << 31, 1<<62 + 5, 1<<64 - 1, 0x9e3779b97f4a7c15} {
		for _, n := range []int{0, 1, 2, 7, 1000} {
			got, want := make([]int32, n), make([]int32, n)
			for i := range want {
				want[i] = int32(i)
			}
			r1, r2 := tensor.NewRNG(seed), tensor.NewRNG(seed)
			Permute(got, r1)
			data.Shuffle(want, r2)
			if !slices.Equal(got, want) || r1.State() != r2.State() {
				t.Fatalf("seed %#x n %d: Permute %v state %#x, data.Shuffle %v state %#x", seed, n, got[:min(n, 8)], r1.State(), want[:min(n, 8)], r2.State())
			}
		}
	}
}

func TestPermuteAllocatesNothing(t *testing.T) {
	order := make([]int32, 100)
	rng := tensor.NewRNG(3)
	if a := testing.AllocsPerRun(10, func() { Permute(order, rng) }); a != 0 {
		t.Errorf("Permute allocates %v times per call", a)
	}
}

func TestZero(t *testing.T) {
	for _, n := range []int{0, 1, 7, 1000} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(math.NaN())
		}
		Zero(x)
		for i, v := range x {
			if math.Float32bits(v) != 0 {
				t.Fatalf("n %d: x[%d] = %v after Zero", n, i, v)
			}
		}
	}
}
