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
