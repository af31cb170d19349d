package codec

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/murmur-fl/murmur/sync/codec/internal/ent"
	"github.com/murmur-fl/murmur/sync/codec/internal/zst"
)

// compressPayloadRef is compressPayload as it was before it skipped
// Huffman by ent.LowerBound and wrote into scratch: both coders on the
// sample (large payloads) or on everything.
func compressPayloadRef(raw []byte) (uint16, []byte) {
	const slice, every = 64 << 10, 4
	if len(raw) >= 2*every*slice {
		var sample []byte
		for o := 0; o+slice <= len(raw); o += every * slice {
			sample = append(sample, raw[o:o+slice]...)
		}
		z, h := float64(len(zst.Append(nil, sample))), float64(len(ent.Append(nil, sample)))
		switch {
		case h < 0.995*z:
			return flagHuffman, ent.Append(nil, raw)
		case z < 0.995*h:
			return flagZstd, zst.Append(nil, raw)
		}
	}
	flags, payload := uint16(flagZstd), zst.Append(nil, raw)
	if hf := ent.Append(nil, raw); len(hf) < len(payload) {
		flags, payload = flagHuffman, hf
	}
	return flags, payload
}

// The shortcuts keep the bytes: compressPayload returns exactly what
// running both coders returned, on payloads where zstd wins, Huffman wins
// and it is close, below and above the sampling size, with one Encoder
// reused across them (stale scratch must not leak into a payload).
func TestCompressPayloadMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	e := mustEncoder(t, Config{Codec: "float32", Zstd: true})
	seen := map[string]bool{} // both winners, below and above the sampling size
	for _, n := range []int{0, 1, 100, 70000, 300000, 600000, 1 << 20} {
		for _, kind := range []string{"sparse-delta", "dense-noise", "skewed", "uniform", "zeros", "half-repeats"} {
			raw := make([]byte, n)
			for i := range raw {
				switch kind {
				case "sparse-delta":
					if r.IntN(50) == 0 {
						raw[i] = byte(r.Uint32())
					}
				case "dense-noise":
					raw[i] = byte(int(r.NormFloat64()*6) + 128)
				case "skewed":
					raw[i] = byte(min(r.ExpFloat64()*3, 255))
				case "uniform":
					raw[i] = byte(r.Uint32())
				case "half-repeats":
					if i >= 8 && r.IntN(2) == 0 {
						raw[i] = raw[i-8]
					} else {
						raw[i] = byte(int(r.NormFloat64()*20) + 128)
					}
				}
			}
			t.Run(fmt.Sprint(kind, "/", n), func(t *testing.T) {
				wf, wp := compressPayloadRef(raw)
				gf, gp := e.compressPayload(raw)
				if gf != wf || !bytes.Equal(gp, wp) {
					t.Fatalf("flags %d, %d bytes; reference flags %d, %d bytes", gf, len(gp), wf, len(wp))
				}
				seen[fmt.Sprint(wf, n >= 512<<10)] = true
			})
		}
	}
	for _, k := range []string{"1 false", "2 false", "1 true", "2 true"} {
		if !seen[k] {
			t.Errorf("no case with flags/sampled %q", k)
		}
	}
}
