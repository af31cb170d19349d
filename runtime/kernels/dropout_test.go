package kernels

import (
	"math"
	"testing"

	"github.com/murmur-fl/murmur/runtime/tensor"
)

// Dropout draws one number per element in order, as runtime/nn's loop did,
// and leaves the generator where those draws would: the same masks and the
// same state after, for states that use all 64 bits.
func TestDropoutIsOneDrawPerElement(t *testing.T) {
	for _, seed := range []uint64{0, 1, 1<<31 - 1, 1 << 31, 1<<62 + 5, 1<<64 - 1} {
		for _, rate := range []float32{0, 0.25, 0.5, 0.99} {
			for _, n := range []int{0, 1, 7, 300} {
				x := make([]float32, n)
				for i := range x {
					x[i] = float32(i) - 3.5
				}
				y, mask := make([]float32, n), make([]float32, n)
				r1, r2 := tensor.NewRNG(seed), tensor.NewRNG(seed)
				Dropout(x, y, mask, rate, r1)
				keep := 1 / (1 - rate)
				for i, v := range x {
					m := float32(0)
					if r2.Float32() >= rate {
						m = keep
					}
					if math.Float32bits(mask[i]) != math.Float32bits(m) || math.Float32bits(y[i]) != math.Float32bits(v*m) {
						t.Fatalf("seed %#x rate %v n %d: element %d mask %v y %v, want %v %v", seed, rate, n, i, mask[i], y[i], m, v*m)
					}
				}
				if r1.State() != r2.State() {
					t.Fatalf("seed %#x n %d: state after %#x, want %#x", seed, n, r1.State(), r2.State())
				}
			}
		}
	}
}

func TestMul(t *testing.T) {
	x, y := []float32{1, -2, 3, float32(math.Inf(1))}, []float32{4, 0.5, -0, 0}
	z := make([]float32, 4)
	Mul(x, y, z)
	for i := range x {
		if want := x[i] * y[i]; math.Float32bits(z[i]) != math.Float32bits(want) && !(want != want && z[i] != z[i]) {
			t.Errorf("z[%d] = %v, want %v", i, z[i], want)
		}
	}
	Mul(x, y, x) // z may alias x
	if x[1] != -1 {
		t.Errorf("in place: x[1] = %v, want -1", x[1])
	}
}
