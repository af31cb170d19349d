package codec

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/murmur-fl/murmur/sync/codec/internal/quant"
)

// FuzzPlaneKernels is differential: the AVX2 plane transposes, merges,
// the int8 delta's subtraction and version 3's compaction against the
// per-value loops, on
// fuzzer-chosen float bits (any NaN or infinity pattern) with and without
// a base.
func FuzzPlaneKernels(f *testing.F) {
	f.Add(make([]byte, 256), false)
	f.Add([]byte("\x00\x00\xc0\x7f\x01\x00\x80\xff\x00\x80\x00\x00"), true)
	f.Fuzz(func(t *testing.T, data []byte, withBase bool) {
		n := len(data) / 8
		x, base := make([]float32, n), make([]float32, n)
		for i := range x {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[8*i:]))
			base[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[8*i+4:]))
		}
		var b []float32
		if withBase {
			b = base
		}
		got, want := make([]byte, 4*n), make([]byte, 4*n)
		if n > 0 {
			splitAll(got, x, b)
		}
		for i, v := range x {
			bits := math.Float32bits(v)
			if b != nil {
				bits ^= math.Float32bits(b[i])
			}
			for k := range 4 {
				want[k*n+i] = byte(bits >> (8 * k))
			}
		}
		if string(got) != string(want) {
			t.Fatal("float32 planes differ")
		}
		g16, w16 := make([]byte, 2*n), make([]byte, 2*n)
		if n > 0 {
			splitAll16(g16, x, b)
		}
		for i, v := range x {
			if b != nil {
				v -= b[i]
			}
			h := quant.BF16(v)
			w16[i], w16[n+i] = byte(h), byte(h>>8)
		}
		if string(g16) != string(w16) {
			t.Fatal("bf16 planes differ")
		}
		gv, wv := make([]float32, n), make([]float32, n)
		gf, wf := f32FromPlanes(gv, want, b), f32FromPlanesGo(wv, want, b, 0)
		for i := range gv {
			if math.Float32bits(gv[i]) != math.Float32bits(wv[i]) {
				t.Fatalf("f32 merge value %d differs", i)
			}
		}
		if gf>>31 != wf>>31 {
			t.Fatal("f32 merge flag differs")
		}
		gf, wf = bf16FromPlanes(gv, w16, b), bf16FromPlanesGo(wv, w16, b, 0)
		for i := range gv {
			if math.Float32bits(gv[i]) != math.Float32bits(wv[i]) {
				t.Fatalf("bf16 merge value %d differs", i)
			}
		}
		if gf>>31 != wf>>31 {
			t.Fatal("bf16 merge flag differs")
		}
		// The version 3 compaction (x XOR base, the non-zero words).
		mb := (n + 7) / 8
		cw, cm := make([]float32, n), make([]byte, mb)
		tw, tm := make([]float32, n), make([]byte, mb)
		cj, tj := compactXOR(cw, cm, x, base), compactXORGo(tw, tm, x, base, 0, 0)
		if cj != tj || string(cm) != string(tm) {
			t.Fatalf("compaction: %d words, Go twin %d (masks %x, %x)", cj, tj, cm, tm)
		}
		for i := range tj {
			if math.Float32bits(cw[i]) != math.Float32bits(tw[i]) {
				t.Fatalf("compacted word %d differs", i)
			}
		}
		uw := append(tw[:tj:tj], make([]float32, 8)...)
		uf, vf := unmaskF32(gv, uw, tm, base), unmaskF32Go(wv, uw, tm, base, 0, 0)
		if uf>>31 != vf>>31 {
			t.Fatal("unmask flag differs")
		}
		for i := range gv {
			if math.Float32bits(gv[i]) != math.Float32bits(wv[i]) || math.Float32bits(gv[i]) != math.Float32bits(x[i]) {
				t.Fatalf("unmasked value %d differs", i)
			}
		}
		subF32(gv, x, base)
		for i := range gv {
			if want := x[i] - base[i]; math.Float32bits(gv[i]) != math.Float32bits(want) {
				t.Fatalf("difference %d differs", i)
			}
		}
	})
}
