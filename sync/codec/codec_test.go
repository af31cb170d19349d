package codec

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/murmur-fl/murmur/sync/codec/internal/ent"
	"github.com/murmur-fl/murmur/sync/codec/internal/zst"
)

func heavyTailed(r *rand.Rand, d int, scale float64) []float32 {
	x := make([]float32, d)
	for i := range x {
		// Student-t-like: normal over the root of a gamma-ish; a few huge values.
		x[i] = float32(scale * r.NormFloat64() / math.Sqrt(r.ExpFloat64()+0.05))
	}
	return x
}

func mustEncoder(t testing.TB, cfg Config, opts ...Option) *Encoder {
	t.Helper()
	e, err := NewEncoder(cfg, append([]Option{WithRand(rand.NewPCG(1, 2))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func norm(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}

// relErr is the package's RelativeError, shared with the bench.
func relErr(got, want []float32) float64 { return RelativeError(got, want) }

func TestRelativeError(t *testing.T) {
	want := []float32{3, 4}
	for _, c := range []struct {
		got  []float32
		want float64
	}{
		{[]float32{3, 4}, 0},
		{[]float32{0, 0}, 1},
		{[]float32{3, 4 + 0.5}, 0.1},
		{[]float32{6, 8}, 1},
	} {
		if e := RelativeError(c.got, want); math.Abs(e-c.want) > 1e-12 {
			t.Errorf("RelativeError(%v, %v) = %v, want %v", c.got, want, e, c.want)
		}
	}
	if e := RelativeError([]float32{1}, []float32{0}); !math.IsInf(e, 1) {
		t.Errorf("error against a zero vector = %v, want +Inf", e)
	}
	defer func() {
		if recover() == nil {
			t.Error("RelativeError of different lengths did not panic")
		}
	}()
	RelativeError([]float32{1}, []float32{1, 2})
}

// reseal recomputes a frame's trailing CRC so tests (and fuzzers) reach the
// validation behind the checksum.
func reseal(b []byte) []byte {
	if len(b) < 4 {
		return b
	}
	b = bytes.Clone(b)
	binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.Checksum(b[:len(b)-4], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

func TestConfigJSONAndValidate(t *testing.T) {
	cfg := Config{Codec: "topk", Fraction: 0.01, Bits: 4}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var back Config
	if err := json.Unmarshal(b, &back); err != nil || back.Codec != "topk" || back.Fraction != 0.01 || back.Bits != 4 {
		t.Fatalf("JSON round trip: %s -> %+v, %v", b, back, err)
	}
	for _, bad := range []Config{
		{Codec: "gzip"},
		{Codec: "topk", Bits: 12},
		{Codec: "topk", Fraction: 1.5},
		{Codec: "qsgd", Bits: 1},
		{Codec: "secure", Clip: 1, MaxClients: 10},                // no seed
		{Codec: "secure", Seed: make([]byte, 32), MaxClients: 10}, // no clip
		{Codec: "sketch", Clip: 1, Seed: make([]byte, 32)},        // no clients
		{Codec: "int8", Bucket: -1},
		{Codec: "topk", Feedback: true},
	} {
		if err := bad.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: got %v, want ErrConfig", bad, err)
		}
	}
}

func TestDownloadSnapshotsAndDeltas(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const d = 10007
	base := heavyTailed(r, d, 0.05)
	model := make([]float32, d)
	for i := range model {
		model[i] = base[i] + float32(r.NormFloat64()*1e-3)
	}
	for _, name := range []string{"float32", "bf16", "int8"} {
		for _, z := range []bool{false, true} {
			e := mustEncoder(t, Config{Codec: name, Zstd: z}, WithShapes([][]int{{7}, {10000}}))
			snap, err := e.EncodeModel(model, 9, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			got, v, err := DecodeModel(snap, nil, 0)
			if err != nil || v != 9 {
				t.Fatalf("%s zstd=%v snapshot: version %d err %v", name, z, v, err)
			}
			info, err := Inspect(snap)
			if err != nil || info.Dim != d || len(info.Shapes) != 2 || info.Version != 9 || info.BaseVersion != 0 {
				t.Fatalf("%s: Inspect = %+v, %v", name, info, err)
			}
			delta, err := e.EncodeModel(model, 9, base, 8)
			if err != nil {
				t.Fatal(err)
			}
			gotD, _, err := DecodeModel(delta, base, 8)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := DecodeModel(delta, base, 7); !errors.Is(err, ErrBaseMismatch) {
				t.Fatalf("%s: delta against the wrong version: %v", name, err)
			}
			if _, err := Decode(delta); !errors.Is(err, ErrBaseMismatch) {
				t.Fatalf("%s: Decode of a delta: %v", name, err)
			}
			es, ed := relErr(got, model), relErr(gotD, model)
			switch name {
			case "float32":
				if es != 0 || ed != 0 {
					t.Fatalf("float32 must be lossless: snapshot %g delta %g", es, ed)
				}
			case "bf16":
				if es > 4e-3 || ed > 1e-4 {
					t.Fatalf("bf16 relative error: snapshot %g (want <= 4e-3), delta %g (want <= 1e-4)", es, ed)
				}
			case "int8":
				if es > 0.05 || ed > 1e-3 {
					t.Fatalf("int8 relative error: snapshot %g, delta %g", es, ed)
				}
			}
			t.Logf("%s zstd=%v: snapshot %.2fx err %.2g, delta %.2fx err %.2g", name, z,
				float64(4*d)/float64(len(snap)), es, float64(4*d)/float64(len(delta)), ed)
		}
	}
}

func TestTopKFeedbackIdentity(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const d = 50000
	for _, bits := range []int{32, 16, 4} {
		e := mustEncoder(t, Config{Codec: "topk", Fraction: 0.02, Bits: bits})
		var res Residual
		prev := make([]float32, d)
		for round := 0; round < 3; round++ {
			x := heavyTailed(r, d, 1e-3)
			want := make([]float32, d) // x + old residual
			for i := range want {
				want[i] = x[i] + prev[i]
			}
			blob, err := e.EncodeFeedback(x, &res)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(blob, WithDim(d))
			if err != nil {
				t.Fatal(err)
			}
			nz := 0
			for i := range got {
				if got[i] != 0 {
					nz++
				}
				// sent + kept == what there was to send
				if s := got[i] + res.v[i]; math.Abs(float64(s-want[i])) > 1e-6*math.Abs(float64(want[i]))+1e-12 {
					t.Fatalf("bits %d round %d coord %d: sent %g + residual %g != %g", bits, round, i, got[i], res.v[i], want[i])
				}
			}
			if k := (Config{Fraction: 0.02}).K(d); nz > k {
				t.Fatalf("bits %d: %d nonzeros, more than k=%d", bits, nz, k)
			}
			copy(prev, res.v)
		}
	}
}

// Error feedback: over many rounds the sum of what top-k sent approaches the
// dense sum of the updates (the gap is exactly the final residual, which
// stays bounded), whereas top-k without feedback loses the small coordinates
// for good.
func TestErrorFeedbackConverges(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const d, rounds = 20000, 300
	mean := heavyTailed(r, d, 1e-3) // a persistent signal every round shares
	withEF, noEF := mustEncoder(t, Config{Codec: "topk", Fraction: 0.01, Bits: 4}), mustEncoder(t, Config{Codec: "topk", Fraction: 0.01, Bits: 4})
	var res Residual
	dense := make([]float32, d)
	sumEF, sumNo := make([]float32, d), make([]float32, d)
	for round := 0; round < rounds; round++ {
		x := make([]float32, d)
		for i := range x {
			x[i] = mean[i] + float32(r.NormFloat64()*1e-3)
			dense[i] += x[i]
		}
		b1, err := withEF.EncodeFeedback(x, &res)
		if err != nil {
			t.Fatal(err)
		}
		b2, err := noEF.Encode(x)
		if err != nil {
			t.Fatal(err)
		}
		if err := Accumulate(sumEF, b1, 1); err != nil {
			t.Fatal(err)
		}
		if err := Accumulate(sumNo, b2, 1); err != nil {
			t.Fatal(err)
		}
	}
	eEF, eNo := relErr(sumEF, dense), relErr(sumNo, dense)
	t.Logf("relative error of the accumulated sum after %d rounds: with feedback %.3f, without %.3f", rounds, eEF, eNo)
	if eEF > 0.25 || eEF > eNo/3 {
		t.Fatalf("error feedback did not converge: %.3f (without: %.3f)", eEF, eNo)
	}
	// The gap is the residual (up to float rounding).
	for i := range dense {
		if g := dense[i] - sumEF[i] - res.v[i]; math.Abs(float64(g)) > 1e-3*(math.Abs(float64(dense[i]))+1e-3) {
			t.Fatalf("coord %d: dense %g - sent %g != residual %g", i, dense[i], sumEF[i], res.v[i])
		}
	}
}

// QSGD stochastic rounding is unbiased: the mean of N independent encodings
// is within 5 standard errors of the input, where one encoding's error per
// coordinate is at most scale/L (its std at most scale/(2L)).
func TestQSGDUnbiased(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const d, N = 256, 3000
	x := heavyTailed(r, d, 1)
	e := mustEncoder(t, Config{Codec: "qsgd", Bits: 3, Bucket: 64})
	sum := make([]float32, d)
	for range N {
		b, err := e.Encode(x)
		if err != nil {
			t.Fatal(err)
		}
		if err := Accumulate(sum, b, 1.0/N); err != nil {
			t.Fatal(err)
		}
	}
	const L = 3 // levels per side at 3 bits
	biased := 0
	for b := 0; b < d; b += 64 {
		var s float32
		for _, v := range x[b : b+64] {
			s = max(s, float32(math.Abs(float64(v))))
		}
		tol := 5 * float64(s) / (2 * L) / math.Sqrt(N)
		for i := b; i < b+64; i++ {
			if diff := math.Abs(float64(sum[i] - x[i])); diff > tol {
				biased++
				t.Errorf("coord %d: mean %g, input %g, |diff| %.3g > %.3g", i, sum[i], x[i], diff, tol)
			}
		}
	}
	// A deterministic rounding of the same grid would be biased: check the
	// test can fail by comparing against one encoding.
	one, _ := e.Encode(x)
	v, _ := Decode(one)
	if relErr(v, x) < 10*relErr(sum, x) {
		t.Fatalf("one encoding (%.3g) is not much worse than the mean of %d (%.3g): the test is vacuous", relErr(v, x), N, relErr(sum, x))
	}
}

func TestResidualMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	e := mustEncoder(t, Config{Codec: "topk", Fraction: 0.05})
	var res Residual
	if _, err := e.EncodeFeedback(heavyTailed(r, 3000, 1), &res); err != nil {
		t.Fatal(err)
	}
	b, err := res.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back Residual
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	for i := range res.v {
		if math.Float32bits(res.v[i]) != math.Float32bits(back.v[i]) {
			t.Fatalf("coord %d: %g != %g", i, res.v[i], back.v[i])
		}
	}
	b[len(b)/2] ^= 1
	if err := back.UnmarshalBinary(b); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt residual: %v", err)
	}
	var empty Residual
	eb, _ := empty.MarshalBinary()
	if err := back.UnmarshalBinary(eb); err != nil || back.Values() != nil {
		t.Fatalf("empty residual round trip: %v %v", back.Values(), err)
	}
}

// A download that decodes to a NaN or ±Inf is rejected in every layout
// (the finiteness flag is accumulated inside the decode loops): a delta
// applied to a base that makes it Inf, and a raw blob edited to Inf.
func TestDecodeRejectsNonFinite(t *testing.T) {
	const d = 1000
	r := rand.New(rand.NewPCG(21, 22))
	base := heavyTailed(r, d, 0.05)
	x := heavyTailed(r, d, 0.05)
	for _, cfg := range []Config{{Codec: "float32", Zstd: true}, {Codec: "bf16", Zstd: true}, {Codec: "float32"}, {Codec: "bf16"}, {Codec: "int8", Zstd: true}} {
		blob, err := mustEncoder(t, cfg).EncodeModel(x, 2, base, 1)
		if err != nil {
			t.Fatal(err)
		}
		have := append([]float32(nil), base...)
		if cfg.Codec == "float32" {
			// Bits XOR back to +Inf at coordinate 700.
			have[700] = math.Float32frombits(math.Float32bits(x[700]) ^ math.Float32bits(base[700]) ^ 0x7f800000)
		} else {
			have[700] = float32(math.Inf(-1)) // the sum is -Inf
		}
		if _, _, err := DecodeModel(blob, have, 1); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "coordinate 700") {
			t.Errorf("%+v: decoding to Inf: %v", cfg, err)
		}
	}
	// A raw float32 snapshot with coordinate 5 edited to +Inf.
	blob, err := mustEncoder(t, Config{Codec: "float32"}).EncodeModel(x, 2, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	blob = bytes.Clone(blob)
	binary.LittleEndian.PutUint32(blob[len(blob)-4-4*(d-5):], 0x7f800000)
	if _, _, err := DecodeModel(reseal(blob), nil, 0); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "coordinate 5") {
		t.Errorf("raw snapshot with Inf: %v", err)
	}
}

func TestRejectsNonFinite(t *testing.T) {
	for _, name := range []string{"topk", "qsgd", "bf16"} {
		e := mustEncoder(t, Config{Codec: name})
		x := []float32{1, 2, float32(math.NaN()), 4}
		if _, err := e.Encode(x); err == nil {
			t.Errorf("%s accepted NaN", name)
		}
	}
	// The residual is left untouched by a failed encode.
	e := mustEncoder(t, Config{Codec: "topk", Fraction: 0.5})
	var res Residual
	if _, err := e.EncodeFeedback([]float32{1, 2, 3, 4}, &res); err != nil {
		t.Fatal(err)
	}
	before := append([]float32(nil), res.v...)
	if _, err := e.EncodeFeedback([]float32{1, float32(math.Inf(1)), 3, 4}, &res); err == nil {
		t.Fatal("Inf accepted")
	}
	for i := range before {
		if before[i] != res.v[i] {
			t.Fatalf("residual changed by a failed encode: %v -> %v", before, res.v)
		}
	}
}

// The top-k index coder adapts: Rice for scattered indices, varint+zstd for
// clustered runs; both decode to the same selection.
func TestTopKIndexCoders(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	const d = 50000
	scattered := heavyTailed(r, d, 1)
	clustered := make([]float32, d)
	for i := range clustered {
		clustered[i] = float32(r.NormFloat64() * 1e-3)
	}
	for row := 0; row < 10; row++ { // ten touched "embedding rows" of 50
		start := r.IntN(d/50) * 50
		for i := start; i < start+50; i++ {
			clustered[i] = float32(1 + r.Float64())
		}
	}
	for name, c := range map[string]struct {
		x     []float32
		coder byte
	}{"scattered": {scattered, indexRice}, "clustered": {clustered, indexZstd}} {
		e := mustEncoder(t, Config{Codec: "topk", Fraction: 0.01})
		blob, err := e.Encode(c.x)
		if err != nil {
			t.Fatal(err)
		}
		h, _, err := parse(blob, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := h.Params[9]; got != c.coder {
			t.Errorf("%s: index coder %d, want %d", name, got, c.coder)
		}
		got, err := Decode(blob)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for i, v := range got {
			if v != 0 {
				n++
				if v != c.x[i] {
					t.Fatalf("%s: coord %d decoded %g, want %g", name, i, v, c.x[i])
				}
			}
		}
		if n != 500 {
			t.Fatalf("%s: %d coordinates, want 500", name, n)
		}
	}
}

// Compressed downloads of version 1 keep the smaller of zstd and Huffman
// alone: random weights favour Huffman, a delta that is mostly zero runs
// favours zstd. (Version 2 decides per chunk: TestDownloadCompressorChoiceSampled.)
func TestDownloadCompressorChoice(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	const d = 20000
	w := heavyTailed(r, d, 0.05)
	base := append([]float32(nil), w...)
	next := append([]float32(nil), w...)
	for i := 0; i < d; i += 100 {
		next[i] += 0.01 // a sparse change: the delta is mostly zero runs
	}
	e := mustEncoder(t, Config{Codec: "bf16", Zstd: true, Version: 1})
	snap, err := e.EncodeModel(w, 2, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	delta, err := e.EncodeModel(next, 2, base, 1)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		blob []byte
		flag uint16
	}{"snapshot": {snap, flagHuffman}, "sparse delta": {delta, flagZstd}} {
		h, _, err := parse(c.blob, nil)
		if err != nil {
			t.Fatal(err)
		}
		if h.Flags != c.flag {
			t.Errorf("%s: flags %d, want %d", name, h.Flags, c.flag)
		}
	}
	got, _, err := DecodeModel(delta, base, 1)
	if err != nil || relErr(got, next) > 1e-4 {
		t.Fatalf("sparse delta: %v (rel err %g)", err, relErr(got, next))
	}
	if _, _, err := DecodeModel(reseal(setFlags(snap, 3)), nil, 0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("flags 3 accepted: %v", err)
	}
}

func setFlags(b []byte, f uint16) []byte {
	b = append([]byte(nil), b...)
	binary.LittleEndian.PutUint16(b[6:], f)
	return b
}

// On payloads large enough to be judged from a sample (>= 256 KiB), the
// sampled choice of version 1 still picks the right compressor, and its
// blob is within 3% of the better of the two (compressPayload's margin).
// Version 2 makes the same choice for deltas and always uses the mixed
// form for snapshots.
func TestDownloadCompressorChoiceSampled(t *testing.T) {
	for _, v := range []int{1, 2} {
		t.Run(fmt.Sprint("v", v), func(t *testing.T) { testDownloadCompressorChoiceSampled(t, v) })
	}
}

func testDownloadCompressorChoiceSampled(t *testing.T, version int) {
	r := rand.New(rand.NewPCG(17, 18))
	const d = 300000 // 600 KB of bf16
	w := heavyTailed(r, d, 0.05)
	next := append([]float32(nil), w...)
	for i := 0; i < d; i += 100 {
		next[i] += 0.01
	}
	e := mustEncoder(t, Config{Codec: "bf16", Zstd: true, Version: version})
	for _, c := range []struct {
		name     string
		x, base  []float32
		baseV    uint64
		wantFlag uint16
	}{
		{"snapshot", w, nil, 0, flagHuffman},
		{"sparse delta", next, w, 1, flagZstd},
	} {
		blob, err := e.EncodeModel(c.x, 2, c.base, c.baseV)
		if err != nil {
			t.Fatal(err)
		}
		h, payload, err := parse(blob, nil)
		if err != nil {
			t.Fatal(err)
		}
		if h.Flags != c.wantFlag || int(h.CodecVersion) != version {
			t.Errorf("%s: version %d flags %d, want version %d flags %d", c.name, h.CodecVersion, h.Flags, version, c.wantFlag)
		}
		// The raw planes, compressed both ways in full.
		raw := make([]byte, 2*d)
		encodeBF16(raw, c.x, c.base, true)
		best := min(len(zst.Append(nil, raw)), len(ent.Append(nil, raw)))
		if float64(len(payload)) > 1.03*float64(best) {
			t.Errorf("%s: payload %d bytes, the better compressor gives %d", c.name, len(payload), best)
		}
		got, _, err := DecodeModel(blob, w, 1)
		if err != nil || relErr(got, c.x) > 0.01 {
			t.Fatalf("%s: round trip: %v (rel err %g)", c.name, err, relErr(got, c.x))
		}
	}
}

func TestFirstNonFinite(t *testing.T) {
	inf := float32(math.Inf(1))
	for _, c := range []struct {
		x    []float32
		want int
	}{
		{nil, -1},
		{[]float32{0, float32(math.Copysign(0, -1)), math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, 1}, -1},
		{[]float32{1, 2, float32(math.NaN())}, 2},
		{[]float32{inf, 1}, 0},
		{[]float32{1, -inf, float32(math.NaN())}, 1},
	} {
		if got := firstNonFinite(c.x); got != c.want {
			t.Errorf("firstNonFinite(%v) = %d, want %d", c.x, got, c.want)
		}
	}
}
