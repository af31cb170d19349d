package codec

import (
	"math/rand/v2"
	"testing"
)

func benchEncode(b *testing.B, cfg Config, d int) {
	r := rand.New(rand.NewPCG(1, 2))
	x := heavyTailed(r, d, 1e-3)
	e := mustEncoder(b, cfg)
	b.SetBytes(int64(4 * d))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Encode(x); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeQSGD4(b *testing.B) { benchEncode(b, Config{Codec: "qsgd", Bits: 4}, 1<<19) }
func BenchmarkEncodeTopK1(b *testing.B) {
	benchEncode(b, Config{Codec: "topk", Bits: 4, Fraction: 0.01}, 1<<19)
}
func BenchmarkEncodeBF16Z(b *testing.B) { benchEncode(b, Config{Codec: "bf16", Zstd: true}, 1<<19) }
func BenchmarkEncodeInt8Z(b *testing.B) { benchEncode(b, Config{Codec: "int8", Zstd: true}, 1<<19) }

func benchDecode(b *testing.B, cfg Config, d int) {
	r := rand.New(rand.NewPCG(1, 2))
	x := heavyTailed(r, d, 1e-3)
	blob, err := mustEncoder(b, cfg).Encode(x)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(4 * d))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(blob); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeQSGD4(b *testing.B) { benchDecode(b, Config{Codec: "qsgd", Bits: 4}, 1<<19) }
func BenchmarkDecodeTopK1(b *testing.B) {
	benchDecode(b, Config{Codec: "topk", Bits: 4, Fraction: 0.01}, 1<<19)
}
func BenchmarkDecodeBF16Z(b *testing.B) { benchDecode(b, Config{Codec: "bf16", Zstd: true}, 1<<19) }

func secureBench(b *testing.B) (*Secure, []float32) {
	const d = 1 << 19
	x := heavyTailed(rand.New(rand.NewPCG(1, 2)), d, 1e-3)
	return mustSecure(b, Config{Codec: "secure", Bits: 8, Clip: 10, Range: 0.05, MaxClients: 1000, Fraction: 0.1, Seed: seed32(1)}, d), x
}

func BenchmarkEncodeSecureSub10(b *testing.B) {
	s, x := secureBench(b)
	b.SetBytes(int64(4 * len(x)))
	b.ReportAllocs()
	rng := rand.NewPCG(1, 1)
	for b.Loop() {
		v, err := s.Encode(nil, x, 1, rng)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Pack(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeSecureSub10(b *testing.B) {
	s, x := secureBench(b)
	v, _ := s.Encode(nil, x, 1, rand.NewPCG(1, 1))
	blob, _ := s.Pack(v)
	b.SetBytes(int64(4 * len(x)))
	b.ReportAllocs()
	for b.Loop() {
		v, err := s.Unpack(blob)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.DecodeSum(v); err != nil {
			b.Fatal(err)
		}
	}
}
