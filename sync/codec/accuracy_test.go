package codec

import (
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/murmur-fl/murmur/runtime/data"
	"github.com/murmur-fl/murmur/runtime/nn"
	"github.com/murmur-fl/murmur/runtime/optim"
)

// TestFederatedAccuracy is a small federated Fashion-MNIST run (FedAvg,
// MLP, 10 devices with IID shards of 600, 1 local epoch per round) with each
// upload codec through SimulateRound, the same seeds and rounds, reporting
// final test accuracy and upload bytes against float32. It takes minutes:
// MURMUR_SOAK=1 runs it; MURMUR_ACC_ROUNDS sets the rounds (default 20),
// MURMUR_ACC_RUNS=name,... a subset of the runs, MURMUR_ACC_NONIID=1
// gives each device two classes only, and MURMUR_ACC_DECAY=1 cuts the
// server learning rate to 0.3 for the second half of the rounds.
func TestFederatedAccuracy(t *testing.T) {
	if os.Getenv("MURMUR_SOAK") == "" {
		t.Skip("federated accuracy run takes minutes; set MURMUR_SOAK=1")
	}
	fm, err := data.LoadFashionMNIST("")
	if err != nil {
		t.Skipf("Fashion-MNIST not available: %v", err)
	}
	const devices, perDevice, batch = 10, 600, 32
	decay := os.Getenv("MURMUR_ACC_DECAY") != "" // server lr 0.3 in the second half
	rounds := 20
	if n, err := strconv.Atoi(os.Getenv("MURMUR_ACC_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	spec, _ := nn.Builtin("mlp")
	r := rand.New(rand.NewPCG(1, 1))
	perm := r.Perm(fm.Train.N)
	shards := make([][]int, devices)
	for j := range shards {
		shards[j] = perm[j*perDevice : (j+1)*perDevice]
	}
	if os.Getenv("MURMUR_ACC_NONIID") != "" {
		// Label skew: device j holds only classes j and j+1 (mod 10).
		for j := range shards {
			shards[j] = shards[j][:0:0]
			for _, i := range perm {
				if c := int(fm.Train.Labels[i]); (c == j%10 || c == (j+1)%10) && len(shards[j]) < perDevice {
					shards[j] = append(shards[j], i)
				}
			}
		}
	}
	init, err := nn.Build(spec, 7)
	if err != nil {
		t.Fatal(err)
	}
	d := len(init.Params())

	train := func(m *nn.Model, shard []int, seed uint64) {
		o, _ := optim.New(optim.Config{LR: 0.1}, d)
		rr := rand.New(rand.NewPCG(seed, 3))
		idx := append([]int(nil), shard...)
		rr.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		in := fm.Train.Dim
		b := nn.Batch{X: make([]float32, batch*in), Labels: make([]int32, batch)}
		for s := 0; s+batch <= len(idx); s += batch {
			for k, i := range idx[s : s+batch] {
				copy(b.X[k*in:(k+1)*in], fm.Train.X[i*in:(i+1)*in])
				b.Labels[k] = fm.Train.Labels[i]
			}
			b.N = batch
			if _, err := m.Step(b, o); err != nil {
				t.Fatal(err)
			}
		}
	}
	accuracy := func(m *nn.Model) float64 {
		var ev nn.Eval
		in := fm.Test.Dim
		for s := 0; s < fm.Test.N; s += 1000 {
			n := min(1000, fm.Test.N-s)
			e, err := m.Evaluate(nn.Batch{N: n, X: fm.Test.X[s*in : (s+n)*in], Labels: fm.Test.Labels[s : s+n]})
			if err != nil {
				t.Fatal(err)
			}
			ev = ev.Add(e)
		}
		return ev.Accuracy()
	}
	// The round's clip: twice the largest first-round update norm.
	m, _ := nn.Build(spec, 7)
	var C float64
	for j := range shards {
		_ = m.SetParams(init.Params())
		train(m, shards[j], uint64(j))
		var s float64
		for i, v := range m.Params() {
			dv := float64(v - init.Params()[i])
			s += dv * dv
		}
		C = math.Max(C, 2*math.Sqrt(s))
	}

	type run struct {
		name string
		cfg  func(round int) Config
		fb   bool
	}
	secure := func(frac float64, rot, fb bool) func(int) Config {
		return func(round int) Config {
			return Config{Codec: "secure", Bits: 8, Clip: C, MaxClients: 1000, Fraction: frac, Rotate: rot, Feedback: fb, Seed: seed32(byte(round + 1))}
		}
	}
	runs := []run{
		{"float32", func(int) Config { return Config{Codec: "float32"} }, false},
		{"topk1%-q4+ef", func(int) Config { return Config{Codec: "topk", Fraction: 0.01, Bits: 4, Bucket: 64} }, true},
		{"topk0.3%-q4+ef", func(int) Config { return Config{Codec: "topk", Fraction: 0.003, Bits: 4, Bucket: 64} }, true},
		{"topk1%-f32+ef", func(int) Config { return Config{Codec: "topk", Fraction: 0.01} }, true},
		{"topk1%-q8+ef", func(int) Config { return Config{Codec: "topk", Fraction: 0.01, Bits: 8, Bucket: 64} }, true},
		{"topk2%-q4+ef", func(int) Config { return Config{Codec: "topk", Fraction: 0.02, Bits: 4, Bucket: 64} }, true},
		{"topk3%-q4+ef", func(int) Config { return Config{Codec: "topk", Fraction: 0.03, Bits: 4, Bucket: 64} }, true},
		{"topk3%-q2+ef", func(int) Config { return Config{Codec: "topk", Fraction: 0.03, Bits: 2, Bucket: 64} }, true},
		{"topk4%-q2+ef", func(int) Config { return Config{Codec: "topk", Fraction: 0.04, Bits: 2, Bucket: 64} }, true},
		{"topk1%-q4", func(int) Config { return Config{Codec: "topk", Fraction: 0.01, Bits: 4, Bucket: 64} }, false},
		{"qsgd4", func(int) Config { return Config{Codec: "qsgd", Bits: 4} }, false},
		{"secure-b8-rot", secure(1, true, false), false},
		{"secure-b8-sub10%-rot", secure(0.1, true, false), false},
		{"secure-b8-sub10%-rot+ef", secure(0.1, true, true), true},
		{"secure-b8-sub5%-rot", secure(0.05, true, false), false},
		{"secure-b6-sub10%-rot", func(round int) Config {
			c := secure(0.1, true, false)(round)
			c.Bits = 6
			return c
		}, false},
		{"secure-b8-sub10%+ef", secure(0.1, false, true), true},
	}
	// MURMUR_ACC_RUNS=name,name,... runs a subset (float32 always runs:
	// it is the reference).
	only := map[string]bool{}
	for _, n := range strings.Split(os.Getenv("MURMUR_ACC_RUNS"), ",") {
		if n != "" {
			only[n] = true
		}
	}
	var base float64
	for _, rn := range runs {
		if len(only) > 0 && !only[rn.name] && rn.name != "float32" {
			continue
		}
		start := time.Now()
		global := append([]float32(nil), init.Params()...)
		var res []*Residual
		if rn.fb {
			for range shards {
				res = append(res, new(Residual))
			}
		}
		var bytes, uploads int
		for round := 0; round < rounds; round++ {
			ups := make([][]float32, devices)
			for j := range shards {
				_ = m.SetParams(global)
				train(m, shards[j], uint64(round*devices+j))
				ups[j] = make([]float32, d)
				for i, v := range m.Params() {
					ups[j][i] = v - global[i]
				}
			}
			out, err := SimulateRound(rn.cfg(round), ups, nil, res, uint64(round))
			if err != nil {
				t.Fatalf("%s round %d: %v", rn.name, round, err)
			}
			lr := float32(1)
			if decay && round >= rounds/2 {
				lr = 0.3 // server step decay for the second half
			}
			for i, v := range out.Sum {
				global[i] += lr * v / float32(out.Weight)
			}
			for _, b := range out.Bytes {
				bytes += b
				uploads++
			}
		}
		_ = m.SetParams(global)
		acc := accuracy(m)
		if rn.name == "float32" {
			base = acc
		}
		t.Logf("%-26s test accuracy %.4f (%+.2f points vs float32), upload %.1fx smaller than float32, %v",
			rn.name, acc, 100*(acc-base), float64(4*d*uploads)/float64(bytes), time.Since(start).Round(time.Second))
	}
}
