package sketch

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestZZCompare(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	const d = 100000
	inputs := map[string][]float32{}
	x := make([]float32, d)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 0.01)
	}
	for k := 0; k < 100; k++ {
		x[r.IntN(d)] = float32(r.NormFloat64() * 3)
	}
	inputs["random-heavy"] = x
	y := make([]float32, d) // smooth, correlated neighbours + blocks of heavy
	v := 0.0
	for i := range y {
		v = 0.99*v + r.NormFloat64()*0.01
		y[i] = float32(v)
	}
	for b := 0; b < 5; b++ {
		o := r.IntN(d - 50)
		for i := o; i < o+50; i++ {
			y[i] += 1
		}
	}
	inputs["smooth-blocks"] = y
	z := make([]float32, d) // periodic
	for i := range z {
		z[i] = float32(r.NormFloat64() * 0.01)
		if i%9 == 4 {
			z[i] += 0.1
		}
		if i%1000 == 0 {
			z[i] += 5
		}
	}
	inputs["periodic"] = z
	for name, in := range inputs {
		for _, cols := range []int{500, 2000} {
			var e [2][]float64
			for seed := 0; seed < 20; seed++ {
				sd := []byte{byte(seed), 1, 2}
				for vi, s := range []*Sketch{New(sd, 5, cols, d), NewV3(sd, 5, cols, d)} {
					tab := make([]float32, s.Len())
					s.AddFloat(tab, in, 1)
					est := make([]float32, d)
					s.Estimate(est, tab)
					var se, sh, nh float64
					for i := range est {
						dd := float64(est[i] - in[i])
						se += dd * dd
						if math.Abs(float64(in[i])) > 0.5 {
							sh += dd * dd
							nh++
						}
					}
					e[vi] = append(e[vi], math.Sqrt(se/d), math.Sqrt(sh/nh))
				}
			}
			m := func(a []float64, off int) (float64, float64) {
				s, mx := 0.0, 0.0
				for i := off; i < len(a); i += 2 {
					s += a[i]
					mx = max(mx, a[i])
				}
				return s / float64(len(a)/2), mx
			}
			a1, x1 := m(e[0], 0)
			a3, x3 := m(e[1], 0)
			h1, hx1 := m(e[0], 1)
			h3, hx3 := m(e[1], 1)
			t.Logf("%-14s cols %4d: rms err v1 %.4f (max %.4f) v3 %.4f (max %.4f); heavy rms v1 %.4f (max %.4f) v3 %.4f (max %.4f)", name, cols, a1, x1, a3, x3, h1, hx1, h3, hx3)
		}
	}
}
