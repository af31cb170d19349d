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
			for _, start := range []int{0, 1, 5, 1 << 19, int(top32 - 4100)} {
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

// TestSignRow3Kernel checks signRow3 (the AVX2 kernel where it runs)
// against hash, coordinate by coordinate, for lengths 0..67 and more, odd
// starts, column counts up to 2^31−1 and values that wrap.
func TestSignRow3Kernel(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, cols := range []int{1, 2, 64, 9210, 1 << 20, 1<<31 - 1} {
		s := NewV3([]byte("kernel"), 3, cols, int(top32-1))
		for _, n := range append(seq(0, 67), 1000, 2048) {
			for _, start := range []int{0, 1, 5, 1 << 19, int(top32 - 2049)} {
				q := make([]uint64, n)
				for j := range q {
					q[j] = r.Uint64() >> r.IntN(64)
				}
				for row := range s.Rows {
					pk := make([]uint64, n)
					s.signRow3(pk, q, row, start)
					for j, e := range pk {
						h, neg := s.hash(row, start+j)
						v := uint32(q[j])
						if neg {
							v = -v
						}
						if want := uint64(v)<<32 | uint64(h); e != want {
							t.Fatalf("cols %d n %d start %d row %d: coordinate %d: kernel %#x, Go %#x", cols, n, start, row, start+j, e, want)
						}
					}
				}
			}
		}
	}
}

// TestAddIntMatchesReference compares AddInt (blocked, AVX2 kernels where
// they run, uint32 counters for B <= 32) with a plain loop over hash, for
// both hash versions, moduli on both sides of 32 bits and dimensions
// around the block size.
func TestAddIntMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, v := range versions {
		for _, B := range []int{3, 17, 32, 33, 64} {
			mask := ^uint64(0)
			if B < 64 {
				mask = 1<<B - 1
			}
			for _, dim := range []int{1, 7, 8, 9, 67, hashBlock - 1, hashBlock + 9, 3*hashBlock + 5} {
				s := v.new([]byte("ref"), 3, 53, dim)
				q := make([]uint64, dim)
				for i := range q {
					q[i] = r.Uint64() & mask
				}
				got, want := make([]uint64, s.Len()), make([]uint64, s.Len())
				for i := range got {
					got[i] = r.Uint64() & mask
					want[i] = got[i]
				}
				s.AddInt(got, q, mask)
				for row := range s.Rows {
					for i, x := range q {
						h, neg := s.hash(row, i)
						if neg {
							x = -x
						}
						want[row*s.Cols+h] = (want[row*s.Cols+h] + x) & mask
					}
				}
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("%s B=%d dim=%d counter %d: %#x, reference %#x", v.name, B, dim, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// top32 is 2^32, the coordinate limit (a variable, so that the tests
// build where int has 32 bits).
var top32 uint64 = 1 << 32
