package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/murmur-fl/murmur/sync/codec/internal/ent"
	"github.com/murmur-fl/murmur/sync/codec/internal/frame"
	"github.com/murmur-fl/murmur/sync/codec/internal/quant"
)

// maskedInputs returns (x, base) pairs of length d that exercise version
// 3: nothing changed, everything changed, sparse and dense random changes,
// runs, and the signed zeros and subnormals whose words differ from the
// base's although the values compare equal.
func maskedInputs(r *rand.Rand, d int) map[string][2][]float32 {
	base := heavyTailed(r, d, 0.05)
	out := map[string][2][]float32{}
	change := func(name string, p float64) {
		x := append([]float32(nil), base...)
		for i := range x {
			if r.Float64() < p {
				x[i] += float32(r.NormFloat64() * 1e-3)
			}
		}
		out[name] = [2][]float32{x, base}
	}
	change("none", 0)
	change("all", 1.1)
	change("sparse", 0.05)
	change("half", 0.5)
	change("dense", 0.9)
	runs := append([]float32(nil), base...)
	for i := range runs {
		if (i/13)%3 == 0 {
			runs[i] += 0.25
		}
	}
	out["runs"] = [2][]float32{runs, base}
	// Signed zeros, subnormals and equal values with other words.
	zb := make([]float32, d)
	zx := make([]float32, d)
	for i := range zb {
		switch i % 5 {
		case 0:
			zb[i], zx[i] = float32(math.Copysign(0, -1)), 0
		case 1:
			zb[i], zx[i] = 0, float32(math.Copysign(0, -1))
		case 2:
			zb[i], zx[i] = math.SmallestNonzeroFloat32, math.SmallestNonzeroFloat32*3
		case 3:
			zb[i], zx[i] = -1, -1
		case 4:
			zb[i], zx[i] = 1e30, -1e30
		}
	}
	out["zeros"] = [2][]float32{zx, zb}
	return out
}

// TestMaskedDeltaNaNBase: a float32 delta is lossless whatever the base
// holds (the XOR of the bits), versions 3 and 4 included.
func TestMaskedDeltaNaNBase(t *testing.T) {
	base := []float32{float32(math.NaN()), float32(math.Inf(1)), 1, float32(math.NaN()), 5, 6, 7, 8, 9}
	x := []float32{2, 2, 1, 3, 5, 6, 7, 8, 10}
	for _, v := range []int{3, 4} {
		e := mustEncoder(t, Config{Codec: "float32", Zstd: true, Version: v})
		b, err := e.EncodeModel(x, 2, base, 1)
		if err != nil || int(b[5]) != v {
			t.Fatalf("version %d: %v", b[5], err)
		}
		got, _, err := DecodeModel(b, base, 1)
		if err != nil {
			t.Fatal(err)
		}
		for i := range x {
			if math.Float32bits(got[i]) != math.Float32bits(x[i]) {
				t.Fatalf("version %d coordinate %d: %g, want %g", v, i, got[i], x[i])
			}
		}
	}
}

// TestMaskedDeltaRoundTrip: version 3 decodes to exactly what version 2
// decodes to (float32: the model's bits), for every length around the
// 8-value groups and the 32-value kernels.
func TestMaskedDeltaRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 3))
	for _, codec := range []string{"float32", "bf16", "int8"} {
		bucket := 0
		if codec == "int8" {
			bucket = 64
		}
		e3 := mustEncoder(t, Config{Codec: codec, Zstd: true, Bucket: bucket})
		e2 := mustEncoder(t, Config{Codec: codec, Zstd: true, Bucket: bucket, Version: 2})
		e3x := mustEncoder(t, Config{Codec: codec, Zstd: true, Bucket: bucket, Version: 3})
		for _, d := range []int{0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1000, 4099, 70001, 140003} {
			for name, in := range maskedInputs(r, d) {
				x, base := in[0], in[1]
				t.Run(fmt.Sprintf("%s/%d/%s", codec, d, name), func(t *testing.T) {
					b3, err := e3.EncodeModel(x, 9, base, 8)
					if err != nil {
						t.Fatal(err)
					}
					b2, err := e2.EncodeModel(x, 9, base, 8)
					if err != nil {
						t.Fatal(err)
					}
					h, _, err := parse(b3, nil)
					if err != nil {
						t.Fatal(err)
					}
					unchanged := 0
					codes := int8Codes(x, base, bucket)
					for i := range x {
						if codec == "float32" && math.Float32bits(x[i]) == math.Float32bits(base[i]) ||
							codec == "bf16" && bf16Word(x[i], base[i]) == 0 ||
							codec == "int8" && codes[i] == int8Zero {
							unchanged++
						}
					}
					wantV := uint8(3)
					if codec == "float32" {
						// The default: 4 where at least 1 in 32 stored
						// words has a third byte; version 3 checked below.
						high := 0
						for i := range x {
							if (math.Float32bits(x[i])^math.Float32bits(base[i]))>>16 != 0 {
								high++
							}
						}
						if 32*high >= d-unchanged {
							wantV = 4
						}
					} else if 4*unchanged < d {
						wantV = 2
					}
					if h.CodecVersion != wantV {
						t.Fatalf("codec version %d, want %d (%d of %d unchanged)", h.CodecVersion, wantV, unchanged, d)
					}
					if wantV >= 3 {
						p, err := parseDenseParams(h)
						if err != nil || p.stored != d-unchanged {
							t.Fatalf("params %+v (%v), want %d stored", p, err, d-unchanged)
						}
					}
					got3, v, err := DecodeModel(b3, base, 8)
					if err != nil || v != 9 {
						t.Fatalf("version %d: %v (version %d)", wantV, err, v)
					}
					// An explicit version 3 writes version 3 (float32: not 4).
					bx, err := e3x.EncodeModel(x, 9, base, 8)
					if err != nil {
						t.Fatal(err)
					}
					if codec == "float32" {
						if bx[5] != 3 {
							t.Fatalf("Version 3 wrote codec version %d", bx[5])
						}
						gotx, _, err := DecodeModel(bx, base, 8)
						if err != nil {
							t.Fatalf("version 3: %v", err)
						}
						for i := range gotx {
							if math.Float32bits(gotx[i]) != math.Float32bits(x[i]) {
								t.Fatalf("version 3 coordinate %d: %g, model %g", i, gotx[i], x[i])
							}
						}
					} else if !bytes.Equal(bx, b3) {
						t.Fatal("Version 3 and the default differ")
					}
					got2, _, err := DecodeModel(b2, base, 8)
					if err != nil {
						t.Fatal(err)
					}
					for i := range got3 {
						if math.Float32bits(got3[i]) != math.Float32bits(got2[i]) {
							t.Fatalf("coordinate %d: version 3 decodes %g (%#x), version 2 %g (%#x)", i,
								got3[i], math.Float32bits(got3[i]), got2[i], math.Float32bits(got2[i]))
						}
						if codec == "float32" && math.Float32bits(got3[i]) != math.Float32bits(x[i]) {
							t.Fatalf("coordinate %d: %g, model %g", i, got3[i], x[i])
						}
					}
					// Once more through the same encoder: scratch reuse.
					again, _ := e3.EncodeModel(x, 9, base, 8)
					if string(again) != string(b3) {
						t.Fatal("a second encode gave other bytes")
					}
				})
			}
		}
	}
}

func bf16Word(x, base float32) uint16 { return quant.BF16(x - base) }

// int8Codes returns the int8 delta's codes (nil for bucket 0).
func int8Codes(x, base []float32, bucket int) []byte {
	if bucket == 0 {
		return nil
	}
	v := make([]float32, len(x))
	for i := range v {
		v[i] = x[i] - base[i]
	}
	codes := make([]byte, len(x))
	quant.Quantize(codes, make([]float32, quant.Buckets(len(x), bucket)), v, 8, bucket, nil)
	return codes
}

// TestMaskHelpers checks the mask building blocks against plain loops.
func TestMaskHelpers(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for range 20000 {
		var x uint64
		for b := range 8 {
			switch r.IntN(4) {
			case 0:
			case 1:
				x |= 0x80 << (8 * b)
			default:
				x |= uint64(r.IntN(256)) << (8 * b)
			}
		}
		var want byte
		for b := range 8 {
			if x>>(8*b)&0xff != 0 {
				want |= 1 << b
			}
		}
		if got := nonzeroBytes(x); got != want {
			t.Fatalf("nonzeroBytes(%#x) = %#x, want %#x", x, got, want)
		}
	}
	for _, d := range []int{0, 1, 5, 8, 13, 64, 67, 1001} {
		for _, k := range []int{2, 4} {
			for _, p := range []float64{0, 0.1, 0.5, 0.9, 1} {
				raw := make([]byte, k*d)
				for i := 0; i < d; i++ {
					if r.Float64() < p {
						for q := range k {
							raw[q*d+i] = byte(r.IntN(256))
						}
						raw[r.IntN(k)*d+i] |= 1
					}
				}
				mb := (d + 7) / 8
				out := make([]byte, k*d+mb)
				mask := make([]byte, mb)
				nz := compactPlanes(out, mask, raw, d, k)
				// The plain loop.
				j := 0
				for i := 0; i < d; i++ {
					stored := false
					for q := range k {
						stored = stored || raw[q*d+i] != 0
					}
					if stored != (mask[i/8]>>(i%8)&1 != 0) {
						t.Fatalf("d %d k %d: mask bit %d wrong", d, k, i)
					}
					if stored {
						for q := range k {
							if out[q*d+j] != raw[q*d+i] {
								t.Fatalf("d %d k %d: stored byte %d of plane %d wrong", d, k, j, q)
							}
						}
						j++
					}
				}
				if nz != j {
					t.Fatalf("d %d k %d: %d stored, want %d", d, k, nz, j)
				}
				// And back: the version 3 layout expands to raw.
				lay := make([]byte, 0, k*nz+mb)
				for q := range k {
					lay = append(lay, out[q*d:q*d+nz]...)
				}
				lay = append(lay, mask...)
				full := make([]byte, k*d)
				for i := range full {
					full[i] = 0xaa // expandPlanes must write every byte
				}
				expandPlanes(full, lay, d, k, nz)
				if string(full) != string(raw) {
					t.Fatalf("d %d k %d p %v: expandPlanes does not give the planes back", d, k, p)
				}
			}
		}
	}
}

// TestCodeMask: compactCodes and expandCodes invert each other, for every
// length to 70 and longer ones, at every density of the zero code.
func TestCodeMask(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 9))
	for _, d := range append([]int{1000, 4097}, func() []int {
		var ns []int
		for n := range 71 {
			ns = append(ns, n)
		}
		return ns
	}()...) {
		for _, p := range []float64{0, 0.2, 0.6, 0.95, 1} {
			codes := make([]byte, d)
			for i := range codes {
				codes[i] = int8Zero
				if r.Float64() < p {
					codes[i] = byte(r.IntN(255))
				}
			}
			mb := (d + 7) / 8
			lay := make([]byte, d+mb)
			mask := make([]byte, mb)
			nz := compactCodes(lay[:d], mask, codes)
			want := 0
			for i, c := range codes {
				if c != int8Zero {
					if lay[want] != c || mask[i/8]>>(i%8)&1 == 0 {
						t.Fatalf("d %d p %v: code %d not stored at %d", d, p, i, want)
					}
					want++
				} else if mask[i/8]>>(i%8)&1 != 0 {
					t.Fatalf("d %d p %v: zero code %d marked stored", d, p, i)
				}
			}
			if nz != want {
				t.Fatalf("d %d p %v: %d stored, want %d", d, p, nz, want)
			}
			copy(lay[nz:], mask)
			got := make([]byte, d)
			expandCodes(got, lay[:nz+mb], lay[nz:nz+mb])
			if string(got) != string(codes) {
				t.Fatalf("d %d p %v: expandCodes does not give the codes back", d, p)
			}
		}
	}
}

// TestMaskedDeltaCorrupt: version 3 blobs that break a rule are rejected
// with ErrCorrupt (and say what was wrong).
func TestMaskedDeltaCorrupt(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 7))
	base := heavyTailed(r, 61, 0.05)
	x := append([]float32(nil), base...)
	for i := 0; i < len(x); i += 3 {
		x[i] += 0.5
	}
	e := mustEncoder(t, Config{Codec: "float32", Zstd: true, Version: 3})
	good, err := e.EncodeModel(x, 2, base, 1)
	if err != nil {
		t.Fatal(err)
	}
	h, payload, err := parse(good, nil)
	if err != nil || h.CodecVersion != 3 {
		t.Fatalf("version %d: %v", h.CodecVersion, err)
	}
	raw, err := ent.DecodeMixed(payload, 4*21+8)
	if err != nil {
		t.Fatal(err)
	}
	build := func(mut func(h *frame.Header, raw []byte) []byte) []byte {
		h2 := h
		h2.Params = append([]byte(nil), h.Params...)
		r2 := mut(&h2, append([]byte(nil), raw...))
		h2.Flags = 0 // raw payload: the layout itself
		b, err := frame.Append(nil, &h2, r2)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if _, _, err := DecodeModel(build(func(h *frame.Header, raw []byte) []byte { return raw }), base, 1); err != nil {
		t.Fatalf("the raw form of a good blob: %v", err)
	}
	for name, mut := range map[string]func(h *frame.Header, raw []byte) []byte{
		"stored count too high": func(h *frame.Header, raw []byte) []byte {
			binary.LittleEndian.PutUint32(h.Params[20:], 22)
			return append(raw, 0, 0, 0, 0)
		},
		"stored count above dim": func(h *frame.Header, raw []byte) []byte {
			binary.LittleEndian.PutUint32(h.Params[20:], 62)
			return raw
		},
		"mask bit past the end": func(h *frame.Header, raw []byte) []byte {
			raw[len(raw)-1] |= 0x80
			return raw
		},
		"mask bit cleared": func(h *frame.Header, raw []byte) []byte {
			raw[len(raw)-8] &^= 1
			return raw
		},
		"snapshot": func(h *frame.Header, raw []byte) []byte {
			binary.LittleEndian.PutUint64(h.Params[8:], 0)
			return raw
		},
		"params short": func(h *frame.Header, raw []byte) []byte {
			h.Params = h.Params[:20]
			return raw
		},
		"int8 lengths": func(h *frame.Header, raw []byte) []byte {
			h.Codec = uint8(IDInt8)
			binary.LittleEndian.PutUint32(h.Params[16:], 64)
			return raw
		},
		"version 4": func(h *frame.Header, raw []byte) []byte {
			h.CodecVersion = 4 // params too short
			return raw
		},
		"version 5": func(h *frame.Header, raw []byte) []byte {
			h.CodecVersion = 5
			h.Params = append(h.Params, make([]byte, 8)...)
			return raw
		},
	} {
		b := build(mut)
		_, _, err := DecodeModel(b, base, 1)
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: got %v, want ErrCorrupt", name, err)
		}
		if name == "snapshot" {
			if _, err := Decode(b); !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s: Decode got %v, want ErrCorrupt", name, err)
			}
		}
	}
}

// TestMaskedDeltaSize: on a delta where a third of the coordinates did not
// change, version 3 is smaller than version 2.
func TestMaskedDeltaSize(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	const d = 200000
	base := heavyTailed(r, d, 0.05)
	x := append([]float32(nil), base...)
	for i := range x {
		if r.IntN(3) != 0 {
			x[i] += float32(r.NormFloat64() * 1e-3)
		}
	}
	for _, codec := range []string{"float32", "bf16"} {
		b3, _ := mustEncoder(t, Config{Codec: codec, Zstd: true}).EncodeModel(x, 2, base, 1)
		b2, _ := mustEncoder(t, Config{Codec: codec, Zstd: true, Version: 2}).EncodeModel(x, 2, base, 1)
		if b3[5] < 3 || len(b3) >= len(b2) {
			t.Errorf("%s: version %d %d bytes, version 2 %d bytes", codec, b3[5], len(b3), len(b2))
		}
	}
}

// FuzzDeltaRoundTrip encodes a fuzzer-chosen delta (float32, bf16 or
// int8) with version 3 and version 2 and checks that both decode to the
// same bits (float32: the model's). A coordinate whose fuzzed word has its low two bits clear is
// left unchanged, so masks of every density occur.
func FuzzDeltaRoundTrip(f *testing.F) {
	f.Fuzz(func(t *testing.T, sel uint8, raw []byte) {
		n := len(raw) / 8
		x, base := make([]float32, n), make([]float32, n)
		finite := func(u uint32) float32 {
			v := math.Float32frombits(u)
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || math.Abs(float64(v)) > 1e30 {
				return 1
			}
			return v
		}
		for i := range n {
			ub := binary.LittleEndian.Uint32(raw[8*i:])
			ux := binary.LittleEndian.Uint32(raw[8*i+4:])
			base[i] = finite(ub)
			x[i] = finite(ux)
			if ux&3 == 0 {
				x[i] = base[i]
			}
		}
		codec := []string{"float32", "bf16", "int8"}[sel%3]
		bucket := 0
		if codec == "int8" {
			bucket = 1 + int(sel/3)%40
		}
		b3, err := mustEncoder(t, Config{Codec: codec, Zstd: true, Bucket: bucket}).EncodeModel(x, 2, base, 1)
		if err != nil {
			t.Fatal(err)
		}
		if codec == "float32" {
			// The default writes version 4; version 3 must decode the same.
			bx, err := mustEncoder(t, Config{Codec: codec, Zstd: true, Version: 3}).EncodeModel(x, 2, base, 1)
			if err != nil {
				t.Fatal(err)
			}
			gotx, _, errx := DecodeModel(bx, base, 1)
			if errx != nil {
				t.Fatalf("version 3: %v", errx)
			}
			for i := range gotx {
				if math.Float32bits(gotx[i]) != math.Float32bits(x[i]) {
					t.Fatalf("version 3 coordinate %d: %g, model %g", i, gotx[i], x[i])
				}
			}
		}
		b2, err := mustEncoder(t, Config{Codec: codec, Zstd: true, Bucket: bucket, Version: 2}).EncodeModel(x, 2, base, 1)
		if err != nil {
			t.Fatal(err)
		}
		got3, _, err3 := DecodeModel(b3, base, 1)
		got2, _, err2 := DecodeModel(b2, base, 1)
		if (err3 == nil) != (err2 == nil) {
			t.Fatalf("%s: version %d decode error %v, version 2 %v", codec, b3[5], err3, err2)
		}
		for i := range got3 {
			if math.Float32bits(got3[i]) != math.Float32bits(got2[i]) {
				t.Fatalf("%s coordinate %d: version %d decodes %g, version 2 %g", codec, i, b3[5], got3[i], got2[i])
			}
			if codec == "float32" && math.Float32bits(got3[i]) != math.Float32bits(x[i]) {
				t.Fatalf("float32 coordinate %d: %g, model %g", i, got3[i], x[i])
			}
		}
	})
}

// TestWriteMaskedSeeds writes the seeds of FuzzDeltaRoundTrip and the
// version 3 and 4 seeds of FuzzDecode (seed-11 on; seed-14 is version 4).
func TestWriteMaskedSeeds(t *testing.T) {
	if os.Getenv("MURMUR_WRITE_SEEDS") == "" {
		t.Skip("set MURMUR_WRITE_SEEDS=1 to rewrite testdata/fuzz seeds")
	}
	write := func(target, name string, args ...any) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		s := "go test fuzz v1\n"
		for _, a := range args {
			switch a := a.(type) {
			case []byte:
				s += fmt.Sprintf("[]byte(%q)\n", a)
			case uint8:
				s += fmt.Sprintf("byte(%d)\n", a)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := rand.New(rand.NewPCG(4, 4))
	for i, n := range []int{0, 1, 9, 40, 77} {
		raw := make([]byte, 8*n)
		for j := range raw {
			raw[j] = byte(r.Uint32())
		}
		for j := 0; j < n; j += 3 { // a third unchanged
			raw[8*j+4] &^= 3
		}
		write("FuzzDeltaRoundTrip", fmt.Sprintf("seed-%02d", 2*i), uint8(0), raw)
		write("FuzzDeltaRoundTrip", fmt.Sprintf("seed-%02d", 2*i+1), uint8(1), raw)
		write("FuzzDeltaRoundTrip", fmt.Sprintf("seed-%02d", 10+i), uint8(2+3*i), raw)
	}
	x := heavyTailed(r, 50, 1)
	base := append([]float32(nil), x...)
	for i := 0; i < 50; i += 2 {
		x[i] += 0.5
	}
	for i, codec := range []string{"float32", "bf16", "int8", "float32"} {
		v := 3 // seed-14: version 4
		if i == 3 {
			v = 4
		}
		b, err := mustEncoder(t, Config{Codec: codec, Zstd: true, Bucket: map[string]int{"int8": 16}[codec], Version: v}, WithShapes([][]int{{5, 10}})).EncodeModel(x, 3, base, 2)
		if err != nil || int(b[5]) != v {
			t.Fatalf("%s: version %d, %v", codec, b[5], err)
		}
		write("FuzzDecode", fmt.Sprintf("seed-%02d", 11+i), b)
	}
}

// TestCompactKernel compares compactXOR and unmaskF32 (the AVX2 kernels
// where they run) with their Go twins on every length to 70 and longer ones, with words that
// are zero, equal but for the sign of a zero, NaN patterns and random; a
// broken lane fails it.
func TestCompactKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 1))
	special := []uint32{0, 0x80000000, 0x7fc00000, 0xffc00001, 0x7f800000, 1, 0x00800000}
	for _, d := range append([]int{1000, 4099, 65537}, func() []int {
		var ns []int
		for n := range 71 {
			ns = append(ns, n)
		}
		return ns
	}()...) {
		for _, p := range []float64{0, 0.3, 0.7, 1} {
			x, base := make([]float32, d), make([]float32, d)
			for i := range x {
				bb := r.Uint32()
				if r.IntN(4) == 0 {
					bb = special[r.IntN(len(special))]
				}
				xb := bb
				if r.Float64() < p {
					xb = r.Uint32()
					if r.IntN(4) == 0 {
						xb = bb ^ special[r.IntN(len(special))]
					}
				}
				x[i], base[i] = math.Float32frombits(xb), math.Float32frombits(bb)
			}
			mb := (d + 7) / 8
			gw, ww := make([]float32, d), make([]float32, d)
			gm, wm := make([]byte, mb), make([]byte, mb)
			gj := compactXOR(gw, gm, x, base)
			wj := compactXORGo(ww, wm, x, base, 0, 0)
			if gj != wj || string(gm) != string(wm) {
				t.Fatalf("d %d p %v: %d stored (mask %x), Go twin %d (%x)", d, p, gj, gm, wj, wm)
			}
			for i := range wj {
				if math.Float32bits(gw[i]) != math.Float32bits(ww[i]) {
					t.Fatalf("d %d p %v: word %d is %#x, Go twin %#x", d, p, i, math.Float32bits(gw[i]), math.Float32bits(ww[i]))
				}
			}
			// And back: unmaskF32 (the AVX2 kernel where it runs) against
			// its Go twin, values and finiteness flag.
			w := append(ww[:wj:wj], make([]float32, 8)...)
			gv, wv := make([]float32, d), make([]float32, d)
			gf := unmaskF32(gv, w, wm, base)
			wf := unmaskF32Go(wv, w, wm, base, 0, 0)
			if gf>>31 != wf>>31 {
				t.Fatalf("d %d p %v: unmask flag %#x, Go twin %#x", d, p, gf, wf)
			}
			for i := range gv {
				if math.Float32bits(gv[i]) != math.Float32bits(wv[i]) || math.Float32bits(gv[i]) != math.Float32bits(x[i]) {
					t.Fatalf("d %d p %v: unmasked %d is %#x, Go twin %#x, model %#x", d, p, i,
						math.Float32bits(gv[i]), math.Float32bits(wv[i]), math.Float32bits(x[i]))
				}
			}
		}
	}
}

// Version 4 named explicitly is the default (0): the same delta bytes;
// version 3 masks without cutting high bytes, version 2 never masks.
func TestDownloadVersion4IsDefault(t *testing.T) {
	base := make([]float32, 5000)
	x := make([]float32, len(base))
	for i := range base {
		base[i] = float32(i%97) / 50
		x[i] = base[i]
		if i%3 == 0 {
			x[i] += 0.01
		}
	}
	blob := func(v int) []byte {
		enc, err := NewEncoder(Config{Codec: "float32", Zstd: true, Version: v})
		if err != nil {
			t.Fatalf("version %d: %v", v, err)
		}
		b, err := enc.EncodeModel(x, 2, base, 1)
		if err != nil {
			t.Fatal(err)
		}
		return append([]byte(nil), b...)
	}
	d, v4, v3, v2 := blob(0), blob(4), blob(3), blob(2)
	if !bytes.Equal(d, v4) || d[5] != 4 || v3[5] != 3 || v2[5] != 2 {
		t.Fatalf("version 0 and 4 differ (%d, %d bytes), or codec versions %d, %d, %d", len(d), len(v4), d[5], v3[5], v2[5])
	}
	if _, err := NewEncoder(Config{Codec: "float32", Zstd: true, Version: 5}); err == nil {
		t.Fatal("download version 5 accepted")
	}
}
