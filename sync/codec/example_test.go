package codec_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/murmur-fl/murmur/secagg/encode"
	"github.com/murmur-fl/murmur/sync/codec"
)

func update(d int) []float32 {
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, d)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 0.01)
	}
	return x
}

// A device uploads top-k with error feedback; the server accumulates.
func Example_topK() {
	// The config is shipped in the round's plan.
	cfg := codec.Config{Codec: "topk", Fraction: 0.01, Bits: 4}
	// WithRand makes the run reproducible; the default is crypto-seeded.
	enc, _ := codec.NewEncoder(cfg, codec.WithRand(rand.NewPCG(7, 7)))
	// The residual belongs in the device checkpoint (MarshalBinary).
	var residual codec.Residual
	x := update(100000)
	blob, _ := enc.EncodeFeedback(x, &residual)

	sum := make([]float32, len(x)) // server side
	if err := codec.Accumulate(sum, blob, 1); err != nil {
		fmt.Println(err)
	}
	fmt.Println(4*len(x)/len(blob) > 250) // over 250x smaller than float32
	// Output: true
}

// Under secure aggregation: encode into Z_2^B, (mask,) pack, and decode
// the server's modular sum.
func Example_secure() {
	cfg := codec.Config{Codec: "secure", Bits: 8, Clip: 10, MaxClients: 1000, Fraction: 0.1, Rotate: true, Seed: make([]byte, 32)}
	const d = 100000
	s, _ := codec.NewSecure(cfg, d)
	sum := make([]uint64, s.Len())
	for dev := 0; dev < 3; dev++ {
		v, _ := s.Encode(nil, update(d), 1, rand.NewPCG(uint64(dev), 0))
		// secagg adds its masks to v here.
		blob, _ := s.Pack(v)
		got, _ := s.Unpack(blob) // relay side
		encode.AddMod(sum, got, s.ModBits())
	}
	total, weight, _ := s.DecodeSum(sum) // after secagg removed the masks
	fmt.Println(len(total), weight, s.ModBits())
	// Output: 100000 3 18
}

// The relay sends a delta when the device holds a known version, else a
// snapshot.
func Example_download() {
	enc, _ := codec.NewEncoder(codec.Config{Codec: "int8", Zstd: true})
	v1, v2 := update(50000), update(50000)
	for i := range v2 {
		v2[i] = v1[i] + v2[i]/100
	}
	blob, _ := enc.EncodeModel(v2, 2, v1, 1)
	model, version, err := codec.DecodeModel(blob, v1, 1)
	fmt.Println(len(model), version, err, 4*len(v2)/len(blob) >= 4)
	// Output: 50000 2 <nil> true
}
