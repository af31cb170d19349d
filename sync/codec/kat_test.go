package codec

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/murmur-fl/murmur/secagg/encode"
)

// Known-answer vectors (testdata/kat): one blob per codec from a fixed input
// and fixed rounding seed, and the SHA-256 of what it decodes to. Another
// implementation (the browser build, a port) checks itself against them;
// here they pin the wire format. Codecs without zstd must also re-encode to
// the identical bytes. Rewrite with MURMUR_WRITE_KAT=1 only for a deliberate
// format change (and bump the codec version).

type katCase struct {
	Name    string `json:"name"`
	Config  Config `json:"config"`
	Delta   bool   `json:"delta,omitempty"`
	Sparse  bool   `json:"sparse,omitempty"` // delta: x is base with every 20th value moved
	Decoded string `json:"decoded_sha256"`   // of the decoded float32 bits, little-endian
}

func katInput() (x, base []float32) {
	r := rand.New(rand.NewPCG(2026, 5))
	return heavyTailed(r, 300, 0.01), heavyTailed(r, 300, 0.01)
}

func katInputs(c katCase) (x, base []float32) {
	x, base = katInput()
	if c.Sparse {
		x = append([]float32(nil), base...)
		for i := 0; i < len(x); i += 20 {
			x[i] += 0.01
		}
	}
	return x, base
}

func katCases() []katCase {
	return []katCase{
		{Name: "float32", Config: Config{Codec: "float32"}},
		{Name: "float32-delta-zstd", Config: Config{Codec: "float32", Zstd: true, Version: 1}, Delta: true},
		{Name: "bf16-zstd", Config: Config{Codec: "bf16", Zstd: true, Version: 1}},
		// Download version 2: ent's mixed form (a zstd run for the sparse delta).
		{Name: "bf16-zstd-v2", Config: Config{Codec: "bf16", Zstd: true, Version: 2}},
		{Name: "float32-delta-sparse-zstd-v2", Config: Config{Codec: "float32", Zstd: true, Version: 2}, Delta: true, Sparse: true},
		{Name: "int8-delta", Config: Config{Codec: "int8", Bucket: 64}, Delta: true},
		// Download version 3 (the default for compressed float32 and bf16
		// deltas): the stored coordinates' words, then the mask.
		{Name: "float32-delta-zstd-v3", Config: Config{Codec: "float32", Zstd: true, Version: 3}, Delta: true},
		{Name: "float32-delta-sparse-zstd-v3", Config: Config{Codec: "float32", Zstd: true, Version: 3}, Delta: true, Sparse: true},
		{Name: "bf16-delta-sparse-zstd-v3", Config: Config{Codec: "bf16", Zstd: true}, Delta: true, Sparse: true},
		{Name: "int8-delta-sparse-zstd-v3", Config: Config{Codec: "int8", Zstd: true, Bucket: 64}, Delta: true, Sparse: true},
		// Download version 4 (the default for compressed float32 deltas):
		// version 3 without the stored words' zero high bytes.
		{Name: "float32-delta-zstd-v4", Config: Config{Codec: "float32", Zstd: true}, Delta: true},
		{Name: "float32-delta-sparse-zstd-v4", Config: Config{Codec: "float32", Zstd: true}, Delta: true, Sparse: true},
		{Name: "topk-q4", Config: Config{Codec: "topk", Fraction: 0.1, Bits: 4, Bucket: 8}},
		{Name: "qsgd3", Config: Config{Codec: "qsgd", Bits: 3, Bucket: 100}},
		{Name: "secure-sub-rot", Config: Config{Codec: "secure", Bits: 6, Clip: 0.5, Range: 0.1, MaxClients: 4, Fraction: 0.3, Rotate: true, Seed: seed32(7), Version: 1}},
		{Name: "sketch", Config: Config{Codec: "sketch", Bits: 6, Clip: 0.5, Range: 0.1, MaxClients: 4, Rows: 3, Cols: 64, TopK: 10, Seed: seed32(7), Version: 1}},
		// Version 2: counter-based rounding; rotation of 300 values in two
		// windows of 256, without padding.
		{Name: "secure-rot-v2", Config: Config{Codec: "secure", Bits: 6, Clip: 0.5, MaxClients: 4, Rotate: true, Seed: seed32(7), Version: 2}},
		{Name: "secure-sub-rot-v2", Config: Config{Codec: "secure", Bits: 6, Clip: 0.5, Range: 0.1, MaxClients: 4, Fraction: 0.3, Rotate: true, Seed: seed32(7), Version: 2}},
		// Secure version 3: version 2 keeping exactly 90 of 300 coordinates
		// (versions 1 and 2 keep the nearest power of two, 64).
		{Name: "secure-sub-rot-v3", Config: Config{Codec: "secure", Bits: 6, Clip: 0.5, Range: 0.1, MaxClients: 4, Fraction: 0.3, Rotate: true, Seed: seed32(7), Version: 3}},
		{Name: "sketch-v2", Config: Config{Codec: "sketch", Bits: 6, Clip: 0.5, Range: 0.1, MaxClients: 4, Rows: 3, Cols: 64, TopK: 10, Seed: seed32(7), Version: 2}},
		// Sketch version 3: version 2's rounding, multiply-add-shift and
		// fmix32 hashing.
		{Name: "sketch-v3", Config: Config{Codec: "sketch", Bits: 6, Clip: 0.5, Range: 0.1, MaxClients: 4, Rows: 3, Cols: 64, TopK: 10, Seed: seed32(7), Version: 3}},
	}
}

func katEncode(t *testing.T, c katCase) []byte {
	x, base := katInputs(c)
	if c.Config.Codec == "secure" || c.Config.Codec == "sketch" {
		s := mustSecure(t, c.Config, len(x))
		v, err := s.Encode(nil, x, 1, rand.NewPCG(1, 2))
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.Pack(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	e := mustEncoder(t, c.Config, WithShapes([][]int{{3, 100}}))
	var b []byte
	var err error
	if c.Delta {
		b, err = e.EncodeModel(x, 5, base, 4)
	} else {
		b, err = e.Encode(x)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func katDecode(t *testing.T, c katCase, blob []byte) string {
	x, base := katInputs(c)
	var out []float32
	var err error
	switch {
	case c.Config.Codec == "secure" || c.Config.Codec == "sketch":
		s := mustSecure(t, c.Config, len(x))
		var v []uint64
		if v, err = s.Unpack(blob); err == nil {
			sum := make([]uint64, len(v))
			encode.AddMod(sum, v, s.ModBits())
			out, _, err = s.DecodeSum(sum)
		}
	case c.Delta:
		out, _, err = DecodeModel(blob, base, 4)
	default:
		out, err = Decode(blob)
	}
	if err != nil {
		t.Fatalf("%s: %v", c.Name, err)
	}
	h := sha256.New()
	for _, v := range out {
		var b [4]byte
		u := math.Float32bits(v)
		b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestKnownAnswers(t *testing.T) {
	dir := filepath.Join("testdata", "kat")
	manifest := filepath.Join(dir, "manifest.json")
	if os.Getenv("MURMUR_WRITE_KAT") != "" {
		var cs []katCase
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, c := range katCases() {
			b := katEncode(t, c)
			if err := os.WriteFile(filepath.Join(dir, c.Name+".blob"), b, 0o644); err != nil {
				t.Fatal(err)
			}
			c.Decoded = katDecode(t, c, b)
			cs = append(cs, c)
		}
		j, _ := json.MarshalIndent(cs, "", "  ")
		if err := os.WriteFile(manifest, append(j, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	j, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatalf("known answers missing (MURMUR_WRITE_KAT=1 writes them): %v", err)
	}
	var cs []katCase
	if err := json.Unmarshal(j, &cs); err != nil {
		t.Fatal(err)
	}
	if len(cs) != len(katCases()) {
		t.Fatalf("manifest has %d cases, the test %d", len(cs), len(katCases()))
	}
	for _, c := range cs {
		blob, err := os.ReadFile(filepath.Join(dir, c.Name+".blob"))
		if err != nil {
			t.Fatal(err)
		}
		if got := katDecode(t, c, blob); got != c.Decoded {
			t.Errorf("%s: decodes to %s, want %s", c.Name, got, c.Decoded)
		}
		if !c.Config.Zstd && c.Config.Codec != "topk" && c.Config.Codec != "qsgd" {
			if string(katEncode(t, c)) != string(blob) {
				t.Errorf("%s: encoding the known input no longer gives the known bytes", c.Name)
			}
		}
	}
}
