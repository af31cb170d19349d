package sketch

import (
	"math"
	"math/rand/v2"
	"testing"
)

// FuzzHashRowKernel is differential: hashRow (the AVX2 kernel where it
// runs) against hash for fuzzer-chosen seed, columns, start and length.
func FuzzHashRowKernel(f *testing.F) {
	f.Add([]byte("seed"), uint32(9210), uint32(0), uint16(67))
	f.Add([]byte{}, uint32(1), uint32(1<<30), uint16(1000))
	f.Add([]byte("\x01v3"), uint32(9210), uint32(5), uint16(67))
	f.Add([]byte("\x03"), uint32(1<<31-1), uint32(1<<30-1), uint16(4099))
	f.Fuzz(func(t *testing.T, seed []byte, cols, start uint32, n uint16) {
		c := int(cols%(1<<31-1)) + 1
		st := int(start % (1 << 30))
		s := New(seed, 2, c, st+int(n)+1)
		if len(seed) > 0 && seed[0]&1 == 1 { // version 3's hash
			s = NewV3(seed, 2, c, st+int(n)+1)
		}
		for r := range s.Rows {
			got := make([]uint32, n)
			s.hashRow(got, r, st)
			for j, v := range got {
				h, neg := s.hash(r, st+j)
				want := uint32(h) << 1
				if neg {
					want |= 1
				}
				if v != want {
					t.Fatalf("cols %d start %d row %d coordinate %d: %#x vs %#x", c, st, r, st+j, v, want)
				}
			}
		}
	})
}

// FuzzSignRow3Kernel is differential: signRow3 (the AVX2 kernel where it
// runs) against hash for fuzzer-chosen seed, columns, start, length and
// values.
func FuzzSignRow3Kernel(f *testing.F) {
	f.Add([]byte("seed"), uint32(9210), uint32(0), uint16(67), uint64(1<<24-5))
	f.Add([]byte{}, uint32(1), uint32(1<<31), uint16(1000), uint64(0))
	f.Add([]byte("x"), uint32(1<<31-1), uint32(1<<32-1), uint16(4099), ^uint64(0))
	f.Fuzz(func(t *testing.T, seed []byte, cols, start uint32, n uint16, v uint64) {
		c := int(cols%(1<<31-1)) + 1
		st := int(uint64(start) % (top32 - 1<<16))
		s := NewV3(seed, 2, c, st+int(n)+1)
		q := make([]uint64, n)
		for j := range q {
			q[j] = v*uint64(j+1) ^ v>>(j%64)
		}
		pk := make([]uint64, n)
		for r := range s.Rows {
			s.signRow3(pk, q, r, st)
			for j, e := range pk {
				h, neg := s.hash(r, st+j)
				x := uint32(q[j])
				if neg {
					x = -x
				}
				if want := uint64(x)<<32 | uint64(h); e != want {
					t.Fatalf("cols %d start %d row %d coordinate %d: %#x vs %#x", c, st, r, st+j, e, want)
				}
			}
		}
	})
}

// FuzzEstimateKernels is differential: Estimate (the AVX2 hash, gather
// and median kernels where they run, estRow3AVX2 for version 3) against
// the per-coordinate median from hash, for fuzzer-chosen version, seed,
// rows, columns, dimension and table.
func FuzzEstimateKernels(f *testing.F) {
	f.Add(true, []byte("seed"), uint8(5), uint16(37), uint16(1500), uint64(1))
	f.Add(false, []byte("seed"), uint8(3), uint16(1), uint16(67), uint64(2))
	f.Add(true, []byte{}, uint8(4), uint16(9210), uint16(513), uint64(3))
	f.Fuzz(func(t *testing.T, v3 bool, seed []byte, rows uint8, cols, dim uint16, tseed uint64) {
		nr, nc, d := int(rows%7)+1, int(cols)+1, int(dim%4000)+1
		s := New(seed, nr, nc, d)
		if v3 {
			s = NewV3(seed, nr, nc, d)
		}
		r := rand.New(rand.NewPCG(tseed, 1))
		table := make([]float32, s.Len())
		for i := range table {
			switch r.IntN(8) {
			case 0:
				table[i] = float32(math.Copysign(0, -1))
			case 1:
				table[i] = float32(math.Inf(1 - 2*r.IntN(2)))
			default:
				table[i] = float32(r.NormFloat64())
			}
		}
		got := make([]float32, d)
		s.Estimate(got, table)
		v := make([]float32, nr)
		for i := range got {
			for row := range v {
				h, neg := s.hash(row, i)
				v[row] = table[row*s.Cols+h]
				if neg {
					v[row] = -v[row]
				}
			}
			var want float32
			switch nr {
			case 3:
				want = med3(v[0], v[1], v[2])
			case 5:
				a, b, c, dd, e := v[0], v[1], v[2], v[3], v[4]
				want = med3(e, fmax(fmin(a, b), fmin(c, dd)), fmin(fmax(a, b), fmax(c, dd)))
			default:
				want = median(v) + 0
			}
			if math.Float32bits(got[i]) != math.Float32bits(want) {
				t.Fatalf("v3 %v rows %d cols %d dim %d coord %d (%v): %v, Go %v", v3, nr, nc, d, i, v, got[i], want)
			}
		}
	})
}
