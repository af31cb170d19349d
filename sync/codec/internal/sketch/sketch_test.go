package sketch

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// Linearity over Z_2^B: sketch(a) + sketch(b) == sketch(a + b) exactly, for
// random moduli (including 64 bits) and values that wrap.
// The hash versions: 1 (codec versions 1 and 2) and 3.
var versions = []struct {
	name string
	new  func(seed []byte, rows, cols, dim int) *Sketch
}{{"v1", New}, {"v3", NewV3}}

func TestLinearModular(t *testing.T) {
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) { testLinearModular(t, v.new) })
	}
}

func testLinearModular(t *testing.T, New func([]byte, int, int, int) *Sketch) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, B := range []int{3, 17, 33, 64} {
		mask := ^uint64(0)
		if B < 64 {
			mask = 1<<B - 1
		}
		const d = 5000
		s := New([]byte("seed"), 5, 97, d)
		a, b, ab := make([]uint64, d), make([]uint64, d), make([]uint64, d)
		for i := range a {
			a[i], b[i] = r.Uint64()&mask, r.Uint64()&mask
			ab[i] = (a[i] + b[i]) & mask
		}
		ta, tb, tab := make([]uint64, s.Len()), make([]uint64, s.Len()), make([]uint64, s.Len())
		s.AddInt(ta, a, mask)
		s.AddInt(tb, b, mask)
		s.AddInt(tab, ab, mask)
		for i := range ta {
			if (ta[i]+tb[i])&mask != tab[i] {
				t.Fatalf("B=%d counter %d: %d + %d != %d (mod 2^B)", B, i, ta[i], tb[i], tab[i])
			}
		}
		if slices.Equal(ta, tb) {
			t.Fatal("sketches of different vectors are equal: hashing is broken")
		}
	}
}

// Heavy hitters are recovered: a few large coordinates over small noise are
// estimated within the noise level and rank on top.
func TestRecoversHeavyHitters(t *testing.T) {
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) { testRecoversHeavyHitters(t, v.new) })
	}
}

func testRecoversHeavyHitters(t *testing.T, New func([]byte, int, int, int) *Sketch) {
	r := rand.New(rand.NewPCG(2, 2))
	const d = 100000
	s := New([]byte("round 7"), 5, 2000, d)
	x := make([]float32, d)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 0.01)
	}
	heavy := map[int]float32{}
	for len(heavy) < 50 {
		i := r.IntN(d)
		heavy[i] = float32((r.Float64() + 1) * 10 * float64(1-2*r.IntN(2)))
		x[i] = heavy[i]
	}
	table := make([]float32, s.Len())
	s.AddFloat(table, x, 1)
	est := make([]float32, d)
	s.Estimate(est, table)
	for i, v := range heavy {
		if d := est[i] - v; d > 0.5 || d < -0.5 {
			t.Fatalf("coord %d: estimate %g, true %g", i, est[i], v)
		}
	}
	if got := s.MaxLoad(); got < d/2000 || got > 3*d/2000 {
		t.Fatalf("max load %d implausible for %d values in 2000 columns", got, d)
	}
}

// Estimate (blocked, with median networks for 3 and 5 rows) gives exactly
// the plain per-coordinate median for every row count.
func TestEstimateMatchesPlainMedian(t *testing.T) {
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) { testEstimateMatchesPlainMedian(t, v.new) })
	}
}

func testEstimateMatchesPlainMedian(t *testing.T, New func([]byte, int, int, int) *Sketch) {
	r := rand.New(rand.NewPCG(5, 5))
	for rows := 1; rows <= 7; rows++ {
		s := New([]byte("seed"), rows, 97, 1500)
		table := make([]float32, s.Len())
		for i := range table {
			table[i] = float32(r.IntN(9) - 4) // many ties
		}
		got := make([]float32, s.Dim)
		s.Estimate(got, table)
		v := make([]float32, rows)
		for i := range got {
			for row := range v {
				h, neg := s.hash(row, i)
				v[row] = table[row*s.Cols+h]
				if neg {
					v[row] = -v[row]
				}
			}
			if want := median(v); got[i] != want {
				t.Fatalf("rows=%d coord %d: %v, plain median %v", rows, i, got[i], want)
			}
		}
	}
}

func BenchmarkEstimate(b *testing.B) {
	for _, v := range versions {
		b.Run(v.name, func(b *testing.B) { benchmarkEstimate(b, v.new) })
	}
}

func benchmarkEstimate(b *testing.B, New func([]byte, int, int, int) *Sketch) {
	const d = 1 << 18
	s := New([]byte("seed"), 5, d/50, d)
	r := rand.New(rand.NewPCG(1, 1))
	table := make([]float32, s.Len())
	for i := range table {
		table[i] = float32(r.NormFloat64())
	}
	est := make([]float32, d)
	b.SetBytes(4 * d)
	for b.Loop() {
		s.Estimate(est, table)
	}
}

func BenchmarkAddInt(b *testing.B) {
	for _, v := range versions {
		for _, B := range []int{30, 40} {
			b.Run(fmt.Sprintf("%s/B=%d", v.name, B), func(b *testing.B) {
				const d = 1 << 18
				s := v.new([]byte("seed"), 5, d/50, d)
				q := make([]uint64, d)
				for i := range q {
					q[i] = uint64(i * 7919)
				}
				table := make([]uint64, s.Len())
				b.SetBytes(4 * d)
				for b.Loop() {
					s.AddInt(table, q, 1<<B-1)
				}
			})
		}
	}
}
