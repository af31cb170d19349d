package secagg

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/murmur-fl/murmur/secagg/encode"
)

// Float updates, encoded (clip, rotation, 16-bit stochastic rounding,
// weights), securely summed with a dropout, and decoded: the weighted mean
// of the survivors' updates within the quantization bound.
func TestFloatUpdatesEndToEnd(t *testing.T) {
	const n, d = 20, 300
	enc, err := encode.New(encode.Params{Dim: d, Bits: 16, MaxClients: n, ClipNorm: 5, Range: 1,
		MaxWeight: 1000, Rotate: true, Seed: [32]byte{4}})
	if err != nil {
		t.Fatal(err)
	}
	k, th := DefaultGraph(n)
	p := Params{RoundID: 77, N: n, Threshold: th, Degree: k, ModBits: enc.Params().ModBits, Len: enc.Len()}
	r := rand.New(rand.NewPCG(1, 1))
	updates := map[ClientID][]float32{}
	weights := map[ClientID]uint64{}
	inputs := map[ClientID][]uint64{}
	for id := ClientID(1); id <= n; id++ {
		u := make([]float32, d)
		for i := range u {
			u[i] = float32(r.NormFloat64() * 0.05)
		}
		updates[id], weights[id] = u, uint64(1+r.IntN(1000))
		inputs[id], err = enc.Encode(nil, u, weights[id], rand.NewPCG(uint64(id), 0))
		if err != nil {
			t.Fatal(err)
		}
	}
	var dr drops
	for i := range dr {
		dr[i] = map[ClientID]bool{}
	}
	dr[2][7] = true // drops before sending its masked input
	rd := newRound(t, p, inputs)
	sum, surv, err := rd.run(dr)
	if err != nil {
		t.Fatal(err)
	}
	mean, err := enc.DecodeMean(sum)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, d)
	var tw float64
	for _, id := range surv {
		tw += float64(weights[id])
		for i, v := range updates[id] {
			want[i] += float64(weights[id]) * float64(v)
		}
	}
	var errL2, norm float64
	for i := range want {
		want[i] /= tw
		e := float64(mean[i]) - want[i]
		errL2 += e * e
		norm += want[i] * want[i]
	}
	rel := math.Sqrt(errL2 / norm)
	t.Logf("%d survivors, relative L2 error of the decoded weighted mean: %.2e", len(surv), rel)
	if len(surv) != n-1 || rel > 1e-2 {
		t.Fatalf("survivors %d, relative error %.3g", len(surv), rel)
	}
}
