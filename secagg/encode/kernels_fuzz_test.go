package encode

import (
	"encoding/binary"
	"math"
	"math/bits"
	"testing"
)

// FuzzKernels is differential: on fuzzer-chosen bytes it runs every AVX2
// kernel (where it runs; elsewhere the twins meet themselves) and its Go
// twin and requires the same bits: Pack and Unpack/UnpackAdd at every
// width, the counter quantizer (any Bits and ModBits), DecodeSum's value
// conversion, and the FWHT.
func FuzzKernels(f *testing.F) {
	f.Add(uint8(18), uint8(8), uint64(1), []byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x20\x21"))
	f.Add(uint8(33), uint8(31), uint64(0xffffffffffffffff), make([]byte, 200))
	f.Fuzz(func(t *testing.T, width, qbits uint8, key uint64, data []byte) {
		nb := int(width)%64 + 1 // packing width
		n := len(data) / 8
		v := make([]uint64, n)
		for i := range v {
			v[i] = binary.LittleEndian.Uint64(data[8*i:])
		}
		// Pack / Unpack / UnpackAdd.
		packed := Pack(nil, v, nb)
		want := make([]byte, PackedLen(n, nb))
		packGo(want, v, nb)
		if string(packed) != string(want) {
			t.Fatalf("Pack bits=%d n=%d differs", nb, n)
		}
		for _, add := range []bool{false, true} {
			g, h := make([]uint64, n), make([]uint64, n)
			for i := range g {
				g[i] = v[i] & modMask(nb)
				h[i] = g[i]
			}
			unpack(g, want, nb, add)
			if nb <= 56 {
				unpackShort(h, want, nb, add, 0)
			} else {
				unpackLong(h, want, nb, add)
			}
			for i := range g {
				if g[i] != h[i] {
					t.Fatalf("unpack bits=%d add=%v element %d: %#x vs %#x", nb, add, i, g[i], h[i])
				}
			}
		}
		// DecodeSum's conversion.
		step := math.Float64frombits(key>>12|0x3f00000000000000) * 1e-3
		g32, w32 := make([]float32, n), make([]float32, n)
		decodeValues(g32, v, nb, step, 3)
		decodeValuesGo(w32, v, nb, step, 3)
		for i := range g32 {
			if math.Float32bits(g32[i]) != math.Float32bits(w32[i]) {
				t.Fatalf("decodeValues bits=%d element %d", nb, i)
			}
		}
		// The quantizer, on the data read as float32 (finite ones).
		b := int(qbits)%31 + 2 // 2..32
		mb := min(64, b+int(width)%20)
		M := float64(int64(1)<<uint(b-1) - 1)
		q := quantizer{step: 0.01 / M, m: M, inv: M / 0.01, mask: modMask(mb)}
		x := make([]float32, len(data)/4)
		for i := range x {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
			if x[i]-x[i] != 0 {
				x[i] = 0
			}
		}
		gq, wq := make([]uint64, len(x)), make([]uint64, len(x))
		quantizeCounter(gq, x, 0.5, key, q)
		quantizeCounterGo(wq, x, 0.5, key, q)
		for i := range gq {
			if gq[i] != wq[i] {
				t.Fatalf("quantize b=%d B=%d element %d (%v): %#x vs %#x", b, mb, i, x[i], gq[i], wq[i])
			}
		}
		// The FWHT on the data as float64 (the largest power of two <= n).
		if n >= 1 {
			m := 1 << (bits.Len(uint(n)) - 1)
			a := make([]float64, m)
			for i := range a {
				a[i] = math.Float64frombits(v[i])
			}
			c := append([]float64(nil), a...)
			fwht(a)
			fwhtGo(c)
			for i := range a {
				if math.Float64bits(a[i]) != math.Float64bits(c[i]) && !(a[i] != a[i] && c[i] != c[i]) {
					t.Fatalf("fwht n=%d element %d", m, i)
				}
			}
		}
	})
}
