package sketch

import "testing"

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
