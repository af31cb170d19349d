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
)

// The fuzz targets feed each input twice: as is (mostly stopped by the
// checksum) and resealed with a correct CRC, so the fuzzer reaches every
// check behind it. Seeds in testdata/fuzz were written by
// MURMUR_WRITE_SEEDS=1 go test -run TestWriteFuzzSeeds.

const fuzzMaxDim = 1 << 16

func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, blob []byte) {
		for _, b := range [][]byte{blob, reseal(blob)} {
			info, ierr := Inspect(b, WithMaxDim(fuzzMaxDim))
			v, err := Decode(b, WithMaxDim(fuzzMaxDim))
			if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrBaseMismatch) && !errors.Is(err, ErrConfig) {
				t.Fatalf("Decode error wraps no sentinel: %v", err)
			}
			if err == nil {
				if ierr != nil || len(v) != info.Dim {
					t.Fatalf("Decode gave %d values but Inspect says %+v, %v", len(v), info, ierr)
				}
				for i, x := range v {
					if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
						t.Fatalf("decoded coordinate %d is %v", i, x)
					}
				}
				acc := make([]float32, len(v))
				if err := Accumulate(acc, b, 2); err != nil {
					t.Fatalf("Decode accepted what Accumulate rejects: %v", err)
				}
				for i := range acc {
					if acc[i] != 2*v[i] {
						t.Fatalf("Accumulate(w=2)[%d] = %g, Decode = %g", i, acc[i], v[i])
					}
				}
			}
			if ierr == nil && info.BaseVersion != 0 {
				have := make([]float32, info.Dim)
				if m, ver, err := DecodeModel(b, have, info.BaseVersion, WithMaxDim(fuzzMaxDim)); err == nil && (len(m) != info.Dim || ver != info.Version) {
					t.Fatalf("DecodeModel: %d values version %d, header %+v", len(m), ver, info)
				}
			}
			var r Residual
			if err := r.UnmarshalBinary(b); err == nil {
				again, err := r.MarshalBinary()
				if err != nil {
					t.Fatal(err)
				}
				var r2 Residual
				if err := r2.UnmarshalBinary(again); err != nil || len(r2.v) != len(r.v) {
					t.Fatalf("residual does not survive a second round trip: %v", err)
				}
			}
		}
	})
}

// FuzzRoundTrip encodes fuzzer-chosen floats with every plain codec and
// checks the decode: exact for float32, within the format's error otherwise.
func FuzzRoundTrip(f *testing.F) {
	f.Fuzz(func(t *testing.T, sel uint8, raw []byte) {
		x := make([]float32, len(raw)/4)
		for i := range x {
			v := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || math.Abs(float64(v)) > 1e30 {
				v = 1
			}
			x[i] = v
		}
		cfgs := []Config{
			{Codec: "float32"}, {Codec: "float32", Zstd: true}, {Codec: "bf16", Zstd: true}, {Codec: "int8", Bucket: 7},
			{Codec: "float32", Zstd: true, Version: 1}, {Codec: "int8", Zstd: true, Bucket: 5},
			{Codec: "topk", Fraction: 0.3}, {Codec: "topk", Bits: 16}, {Codec: "topk", Bits: 3, Fraction: 1, Bucket: 5},
			{Codec: "qsgd", Bits: 2, Bucket: 3}, {Codec: "qsgd", Bits: 8},
		}
		cfg := cfgs[int(sel)%len(cfgs)]
		e := mustEncoder(t, cfg)
		var r Residual
		var blob []byte
		var err error
		if cfg.Codec == "topk" || cfg.Codec == "qsgd" {
			blob, err = e.EncodeFeedback(x, &r)
		} else {
			blob, err = e.Encode(x)
		}
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(blob, WithDim(len(x)))
		if err != nil {
			t.Fatalf("%+v: %v", cfg, err)
		}
		for i := range x {
			switch cfg.Codec {
			case "float32":
				if math.Float32bits(got[i]) != math.Float32bits(x[i]) {
					t.Fatalf("float32 coord %d: %g != %g", i, got[i], x[i])
				}
			case "bf16":
				// Relative 2^-8 (half of bf16's 7-bit mantissa step), or
				// bf16's smallest subnormal step for subnormal inputs.
				if d := math.Abs(float64(got[i] - x[i])); d > math.Abs(float64(x[i]))/128+0x1p-133 {
					t.Fatalf("bf16 coord %d: %g vs %g", i, got[i], x[i])
				}
			case "topk", "qsgd":
				// Error feedback: sent + residual == input.
				if d := math.Abs(float64(got[i] + r.v[i] - x[i])); d > 1e-5*math.Abs(float64(x[i]))+1e-30 {
					t.Fatalf("%s coord %d: sent %g + residual %g != %g", cfg.Codec, i, got[i], r.v[i], x[i])
				}
			}
		}
	})
}

func FuzzSecureUnpack(f *testing.F) {
	s := fuzzSecure(f)
	f.Fuzz(func(t *testing.T, blob []byte) {
		for _, b := range [][]byte{blob, reseal(blob)} {
			v, err := s.Unpack(b)
			sum := make([]uint64, s.Len())
			if errAdd := s.UnpackAdd(sum, b); (errAdd == nil) != (err == nil) {
				t.Fatalf("Unpack error %v, UnpackAdd error %v", err, errAdd)
			}
			if err != nil {
				continue
			}
			for i := range v {
				if sum[i] != v[i] {
					t.Fatalf("UnpackAdd into zeros differs from Unpack at %d", i)
				}
			}
			again, err := s.Pack(v)
			if err == nil && again[5] != b[5] {
				// A round accepts the other codec version where both
				// lay the vector out alike: compare as if written by it.
				again[5] = b[5]
				again = reseal(again)
			}
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("Unpack accepted a blob that Pack does not reproduce: %v", err)
			}
		}
	})
}

func FuzzSketchState(f *testing.F) {
	s := fuzzSketch(f)
	f.Fuzz(func(t *testing.T, blob []byte) {
		for _, b := range [][]byte{blob, reseal(blob)} {
			st, _ := s.NewSketchState()
			if err := st.UnmarshalBinary(b); err != nil {
				continue
			}
			again, err := st.MarshalBinary()
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("UnmarshalBinary accepted a state that MarshalBinary does not reproduce: %v", err)
			}
		}
	})
}

func fuzzSketch(t testing.TB) *Secure {
	return mustSecure(t, Config{Codec: "sketch", Bits: 5, Clip: 1, MaxClients: 8, Rows: 2, Cols: 8, Seed: seed32(4)}, 40)
}

func fuzzSecure(t testing.TB) *Secure {
	return mustSecure(t, Config{Codec: "secure", Bits: 5, Clip: 1, MaxClients: 8, Fraction: 0.5, Seed: seed32(4)}, 37)
}

// TestWriteFuzzSeeds regenerates testdata/fuzz seeds from real blobs.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("MURMUR_WRITE_SEEDS") == "" {
		t.Skip("set MURMUR_WRITE_SEEDS=1 to rewrite testdata/fuzz seeds")
	}
	r := rand.New(rand.NewPCG(1, 1))
	x := heavyTailed(r, 50, 1)
	base := heavyTailed(r, 50, 1)
	var blobs [][]byte
	for _, cfg := range []Config{{Codec: "float32"}, {Codec: "bf16", Zstd: true}, {Codec: "int8"}, {Codec: "topk", Fraction: 0.2, Bits: 4}, {Codec: "topk"}, {Codec: "qsgd"}} {
		e := mustEncoder(t, cfg, WithShapes([][]int{{5, 10}}))
		b, err := e.Encode(x)
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, b)
		if dense(e.id) {
			b, err := e.EncodeModel(x, 3, base, 2)
			if err != nil {
				t.Fatal(err)
			}
			blobs = append(blobs, b)
		}
	}
	res := Residual{v: x}
	rb, _ := res.MarshalBinary()
	blobs = append(blobs, rb, blobs[0][:20])
	write := func(target string, i int, args ...any) {
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
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, b := range blobs {
		write("FuzzDecode", i, b)
	}
	raw := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	for i := 0; i < 9; i++ {
		write("FuzzRoundTrip", i, uint8(i), raw[:4*(5+i*5)])
	}
	s := fuzzSecure(t)
	v, err := s.Encode(nil, x[:37], 1, rand.NewPCG(2, 2))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.Pack(v)
	write("FuzzSecureUnpack", 0, b)
	write("FuzzSecureUnpack", 1, b[:len(b)-5])
	sk := fuzzSketch(t)
	st, _ := sk.NewSketchState()
	v, _ = sk.Encode(nil, x[:40], 1, rand.NewPCG(3, 3))
	if _, err := st.Add(v, 0.5); err != nil {
		t.Fatal(err)
	}
	sb, _ := st.MarshalBinary()
	write("FuzzSketchState", 0, sb)
}
