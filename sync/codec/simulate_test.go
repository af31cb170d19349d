package codec

import (
	"errors"
	"math/rand/v2"
	"testing"
)

func TestSimulateRound(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	const d, n = 4000, 8
	ups := make([][]float32, n)
	weights := make([]uint64, n)
	want := make([]float32, d)
	for j := range ups {
		ups[j] = heavyTailed(r, d, 1e-3)
		weights[j] = uint64(1 + j)
		for i, v := range ups[j] {
			want[i] += float32(weights[j]) * v
		}
	}
	for _, c := range []struct {
		cfg    Config
		maxErr float64
	}{
		{Config{Codec: "float32"}, 1e-6},
		{Config{Codec: "qsgd", Bits: 8, Bucket: 64}, 0.05},
		{Config{Codec: "topk", Fraction: 0.5}, 0.5},
		{Config{Codec: "secure", Bits: 16, Clip: 100, Range: 0.5, MaxClients: n, MaxWeight: n, Seed: seed32(5)}, 0.01},
	} {
		var res []*Residual
		if c.cfg.Codec == "topk" {
			for range ups {
				res = append(res, new(Residual))
			}
		}
		out, err := SimulateRound(c.cfg, ups, weights, res, 1)
		if err != nil {
			t.Fatalf("%s: %v", c.cfg.Codec, err)
		}
		if out.Weight != 36 || len(out.Bytes) != n || out.Bytes[0] <= 0 {
			t.Fatalf("%s: weight %d bytes %v", c.cfg.Codec, out.Weight, out.Bytes)
		}
		if e := relErr(out.Sum, want); e > c.maxErr {
			t.Fatalf("%s: relative error of the weighted sum %.3g > %.3g", c.cfg.Codec, e, c.maxErr)
		}
	}
}

// Secure, Decode and the shared zstd coders are used from many goroutines
// by the relay; run with -race to check.
func TestConcurrentUse(t *testing.T) {
	s := mustSecure(t, Config{Codec: "secure", Bits: 8, Clip: 1, MaxClients: 10, Fraction: 0.5, Seed: seed32(1)}, 1000)
	x := heavyTailed(rand.New(rand.NewPCG(1, 1)), 1000, 1e-2)
	blob, err := mustEncoder(t, Config{Codec: "topk", Fraction: 0.1, Bits: 4}).Encode(x)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Decode(blob)
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 20; i++ {
				v, err := s.Encode(nil, x, 1, rand.NewPCG(uint64(g), uint64(i)))
				if err == nil {
					var b []byte
					if b, err = s.Pack(v); err == nil {
						_, err = s.Unpack(b)
					}
				}
				if err == nil {
					e, _ := NewEncoder(Config{Codec: "bf16", Zstd: true})
					var b []byte
					if b, err = e.Encode(x); err == nil {
						_, err = Decode(b)
					}
				}
				if err == nil {
					var got []float32
					if got, err = Decode(blob); err == nil && relErr(got, want) != 0 {
						err = errors.New("concurrent decode differs")
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
