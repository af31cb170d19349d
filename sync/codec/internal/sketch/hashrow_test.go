package sketch

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestHashRowKernel checks hashRow (the AVX2 kernel where it runs) against
// hash, coordinate by coordinate, for every length 0..67 and more, odd
// starts, and column counts up to 2^31−1.
func TestHashRowKernel(t *testing.T) {
	for _, v3 := range []bool{false, true} {
		testHashRowKernel(t, v3)
	}
}

func testHashRowKernel(t *testing.T, v3 bool) {
	for _, cols := range []int{1, 2, 64, 9210, 1 << 20, 1<<31 - 1} {
		s := New([]byte("kernel"), 3, cols, 1<<20)
		if v3 {
			s = NewV3([]byte("kernel"), 3, cols, 1<<20)
		}
		for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 66, 67, 1000, 4099} {
			for _, start := range []int{0, 1, 5, 1 << 19, 1<<32 - 4100} {
				for r := range s.Rows {
					got := make([]uint32, n)
					s.hashRow(got, r, start)
					for j, v := range got {
						h, neg := s.hash(r, start+j)
						want := uint32(h) << 1
						if neg {
							want |= 1
						}
						if v != want {
							t.Fatalf("v3 %v cols %d n %d start %d row %d: coordinate %d: kernel %#x, Go %#x", v3, cols, n, start, r, start+j, v, want)
						}
					}
				}
			}
		}
	}
}

// TestEstimateKernels compares Estimate (AVX2 gather and median networks
// where they run) with the same estimate computed in Go, bit for bit, for
// 3 and 5 rows, dimensions 0..67 and more, with ties, zeros of both signs
// and infinities in the table.
func TestEstimateKernels(t *testing.T) {
	for _, v3 := range []bool{false, true} {
		testEstimateKernels(t, v3)
	}
}

func testEstimateKernels(t *testing.T, v3 bool) {
	r := rand.New(rand.NewPCG(6, 6))
	for _, rows := range []int{3, 5} {
		for _, dim := range append(seq(1, 67), 511, 512, 513, 1500) {
			s := New([]byte("kern"), rows, 37, dim)
			if v3 {
				s = NewV3([]byte("kern"), rows, 37, dim)
			}
			table := make([]float32, s.Len())
			for i := range table {
				switch r.IntN(8) {
				case 0:
					table[i] = float32(math.Copysign(0, -1))
				case 1:
					table[i] = 0
				case 2:
					table[i] = float32(math.Inf(1 - 2*r.IntN(2)))
				default:
					table[i] = float32(r.IntN(9) - 4)
				}
			}
			got := make([]float32, dim)
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
				var want float32
				if rows == 3 {
					want = med3(v[0], v[1], v[2])
				} else {
					a, b, c, d, e := v[0], v[1], v[2], v[3], v[4]
					want = med3(e, fmax(fmin(a, b), fmin(c, d)), fmin(fmax(a, b), fmax(c, d)))
				}
				if math.Float32bits(got[i]) != math.Float32bits(want) {
					t.Fatalf("rows=%d dim=%d coord %d (%v): kernel %v, Go %v", rows, dim, i, v, got[i], want)
				}
			}
		}
	}
}

func seq(a, b int) []int {
	var s []int
	for i := a; i <= b; i++ {
		s = append(s, i)
	}
	return s
}
