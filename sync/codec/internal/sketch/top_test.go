package sketch

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/murmur-fl/murmur/sync/codec/internal/topk"
)

// checkEstimateTop compares EstimateTop with Estimate then topk.Select
// (the reference), bit for bit, and reports whether the fast path proved
// its result.
func checkEstimateTop(t *testing.T, s *Sketch, table []float32, k int) bool {
	t.Helper()
	est := make([]float32, s.Dim)
	s.Estimate(est, table)
	return checkEstimateTopEst(t, s, table, est, k)
}

// checkEstimateTopEst is checkEstimateTop with Estimate's output given.
func checkEstimateTopEst(t *testing.T, s *Sketch, table, est []float32, k int) bool {
	t.Helper()
	want := topk.Select(nil, est, k)
	_, _, fast := s.estimateTop(table, k, nil)
	idx, val := s.EstimateTop(table, k, make([]float32, s.Dim))
	if !slices.Equal(idx, want) {
		t.Fatalf("rows %d cols %d dim %d k %d: %d indices, want %d (first difference at %d)", s.Rows, s.Cols, s.Dim, k, len(idx), len(want), firstDiff(idx, want))
	}
	for j, i := range idx {
		if math.Float32bits(val[j]) != math.Float32bits(est[i]) {
			t.Fatalf("dim %d k %d: coordinate %d estimate %v, want %v", s.Dim, k, i, val[j], est[i])
		}
	}
	return fast
}

func firstDiff(a, b []uint32) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// fillTable fills table with values of one of several kinds: Gaussian,
// heavy-tailed, small integers (many ties), mostly zero, with infinities.
func fillTable(table []float32, kind int, r *rand.Rand) {
	for i := range table {
		switch kind % 6 {
		case 0:
			table[i] = float32(r.NormFloat64())
		case 1:
			table[i] = float32(r.NormFloat64() / (r.Float64() + 1e-3))
		case 2:
			table[i] = float32(r.IntN(7) - 3)
		case 3:
			if r.IntN(20) == 0 {
				table[i] = float32(r.NormFloat64())
			} else {
				table[i] = float32(math.Copysign(0, float64(r.IntN(2)-1)))
			}
		case 4:
			table[i] = float32(r.NormFloat64())
			if r.IntN(50) == 0 {
				table[i] = float32(math.Inf(1 - 2*r.IntN(2)))
			}
		case 5:
			table[i] = float32(r.NormFloat64() * float64(1+i%7))
		}
	}
}

func TestEstimateTopMatches(t *testing.T) {
	for _, v := range versions {
		for _, rows := range []int{3, 4, 5} {
			for _, d := range []int{8191, 8192, 10000, 40000 + 37, 1 << 17} {
				for kind := range 6 {
					if d == 1<<17 && (kind > 0 || rows != 5) {
						continue // the large case once per version
					}
					t.Run(fmt.Sprintf("%s/rows=%d/d=%d/kind=%d", v.name, rows, d, kind), func(t *testing.T) {
						s := v.new([]byte("top"), rows, max(64, d/50), d)
						r := rand.New(rand.NewPCG(uint64(d), uint64(kind)))
						table := make([]float32, s.Len())
						fillTable(table, kind, r)
						est := make([]float32, d)
						s.Estimate(est, table)
						fast := 0
						ks := []int{1, d / 100, d / 20, d / 16, d/16 + 1, d / 2}
						for _, k := range ks {
							if checkEstimateTopEst(t, s, table, est, k) {
								fast++
							}
						}
						if d >= 1<<13 && kind == 0 && fast < 3 {
							t.Errorf("fast path proved %d of %d k on a Gaussian table", fast, len(ks))
						}
					})
				}
			}
		}
	}
}

// A NaN or infinity in the table: the fallback (Estimate then
// topk.Select), as before.
func TestEstimateTopNotFinite(t *testing.T) {
	for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		s := NewV3([]byte("nan"), 4, 400, 20000)
		table := make([]float32, s.Len())
		fillTable(table, 0, rand.New(rand.NewPCG(1, 2)))
		table[17] = float32(x)
		if _, _, fast := s.estimateTop(table, 200, nil); fast {
			t.Fatalf("fast path with %v in the table", x)
		}
		checkEstimateTop(t, s, table, 200)
	}
}

func FuzzEstimateTop(f *testing.F) {
	f.Add(true, []byte("seed"), uint8(5), uint16(400), uint16(20000), uint16(200), uint8(0), uint64(1))
	f.Add(false, []byte("seed"), uint8(3), uint16(9), uint16(9000), uint16(1), uint8(2), uint64(2))
	f.Add(true, []byte{}, uint8(4), uint16(9210), uint16(33000), uint16(2000), uint8(3), uint64(3))
	f.Fuzz(func(t *testing.T, v3 bool, seed []byte, rows uint8, cols, dim, k uint16, kind uint8, tseed uint64) {
		nr, nc, d := int(rows%7)+1, int(cols)+1, 8000+int(dim%40000)
		s := New(seed, nr, nc, d)
		if v3 {
			s = NewV3(seed, nr, nc, d)
		}
		table := make([]float32, s.Len())
		fillTable(table, int(kind), rand.New(rand.NewPCG(tseed, 1)))
		checkEstimateTop(t, s, table, int(k)%(d/8+2))
	})
}

func BenchmarkEstimateTop(b *testing.B) {
	for _, d := range []int{106000, 460000} {
		s := NewV3([]byte("seed"), 5, d/50, d)
		r := rand.New(rand.NewPCG(1, 1))
		table := make([]float32, s.Len())
		fillTable(table, 0, r)
		est := make([]float32, d)
		b.Run(fmt.Sprintf("d=%d/top", d), func(b *testing.B) {
			b.SetBytes(4 * int64(d))
			for b.Loop() {
				s.EstimateTop(table, d/100, est)
			}
		})
		b.Run(fmt.Sprintf("d=%d/estimate+select", d), func(b *testing.B) {
			b.SetBytes(4 * int64(d))
			for b.Loop() {
				s.Estimate(est, table)
				topk.Select(nil, est, d/100)
			}
		})
	}
}

// TestPassMaskKernel checks the AVX2 mask kernel against |a[j]| >= t,
// values at the threshold, ±0 and infinities included.
func TestPassMaskKernel(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2 kernel here")
	}
	r := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{64, 128, 512} {
		a := make([]float32, n)
		for i := range a {
			switch r.IntN(6) {
			case 0:
				a[i] = 0.5 // the threshold
			case 1:
				a[i] = -0.5
			case 2:
				a[i] = float32(math.Copysign(0, -1))
			case 3:
				a[i] = float32(math.Inf(1 - 2*r.IntN(2)))
			default:
				a[i] = float32(r.NormFloat64())
			}
		}
		m := make([]uint64, n/64)
		passMaskAVX2(&m[0], &a[0], n, 0.5)
		for j, v := range a {
			if got, want := m[j/64]>>(j%64)&1 == 1, topk.Abs(v) >= 0.5; got != want {
				t.Fatalf("n %d: a[%d] = %v: kernel %v, want %v", n, j, v, got, want)
			}
		}
	}
}
