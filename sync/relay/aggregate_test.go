package relay

import (
	"errors"
	"math"
	"testing"
)

func TestRules(t *testing.T) {
	ups := [][]float32{{1, 10}, {2, 20}, {3, 30}, {100, -1000}, {4, 40}}
	ws := []float64{1, 1, 1, 1, 1}
	run := func(c RuleConfig) []float32 {
		a, err := NewAggregator(c, 2, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, u := range ups {
			if err := a.Add(EncodeFloat32(u), ws[i]); err != nil {
				t.Fatal(err)
			}
		}
		return a.Result()
	}
	if got := run(RuleConfig{}); got[0] != 22 || got[1] != -180 {
		t.Fatalf("mean %v", got)
	}
	if got := run(RuleConfig{Name: "median"}); got[0] != 3 || got[1] != 20 {
		t.Fatalf("median %v (the outlier must not move it)", got)
	}
	if got := run(RuleConfig{Name: "trimmed", Trim: 0.2}); got[0] != 3 || got[1] != 20 {
		t.Fatalf("trimmed mean %v", got) // drops one from each end: mean of {2,3,4} and {10,20,30}
	}
	if _, err := NewRule(RuleConfig{Name: "trimmed", Trim: 0.5}, 1); err == nil {
		t.Fatal("trim 0.5 accepted")
	}
	if _, err := NewRule(RuleConfig{Name: "mode"}, 1); err == nil {
		t.Fatal("unknown rule accepted")
	}
}

func TestWeightedMeanAndValidation(t *testing.T) {
	a, _ := NewAggregator(RuleConfig{}, 3, nil)
	a.Add(EncodeFloat32([]float32{1, 1, 1}), 1)
	a.Add(EncodeFloat32([]float32{4, 4, 4}), 2)
	if got := a.Result(); got[0] != 3 {
		t.Fatalf("weighted mean %v, want 3", got)
	}
	for name, p := range map[string][]byte{
		"nan":   EncodeFloat32([]float32{1, float32(math.NaN()), 0}),
		"inf":   EncodeFloat32([]float32{float32(math.Inf(-1)), 0, 0}),
		"short": EncodeFloat32([]float32{1, 2}),
		"odd":   {1, 2, 3},
	} {
		if err := a.Add(p, 1); !errors.Is(err, ErrBadUpdate) {
			t.Errorf("%s: %v, want ErrBadUpdate", name, err)
		}
	}
	if err := a.Add(EncodeFloat32([]float32{1, 1, 1}), math.NaN()); !errors.Is(err, ErrBadUpdate) {
		t.Errorf("NaN weight: %v", err)
	}
	if a.Count() != 2 {
		t.Fatalf("count %d: rejected updates were counted", a.Count())
	}
}

func TestLargeMeanIsParallelAndExact(t *testing.T) {
	const dim = 1 << 18
	a, _ := NewAggregator(RuleConfig{}, dim, nil)
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(i % 7)
	}
	for range 3 {
		a.Add(EncodeFloat32(v), 2)
	}
	got := a.Result()
	for i := range got {
		if got[i] != v[i] {
			t.Fatalf("coordinate %d: %v, want %v", i, got[i], v[i])
		}
	}
}

func TestServerOptimizers(t *testing.T) {
	for _, name := range []string{"fedavg", "fedavgm", "fedadam", "fedyogi"} {
		o, err := NewOptimizer(OptimizerConfig{Name: name}, 2)
		if err != nil {
			t.Fatal(err)
		}
		p := []float32{0, 0}
		for range 20 {
			o.Step(p, []float32{1, -1})
		}
		if !(p[0] > 0 && p[1] < 0) {
			t.Fatalf("%s: params %v do not follow the delta", name, p)
		}
		// State survives a restart: a restored optimizer takes the same step.
		st, _ := o.MarshalBinary()
		o2, _ := NewOptimizer(OptimizerConfig{Name: name}, 2)
		if err := o2.UnmarshalBinary(st); err != nil {
			t.Fatal(err)
		}
		p1, p2 := []float32{p[0], p[1]}, []float32{p[0], p[1]}
		o.Step(p1, []float32{0.5, 0.5})
		o2.Step(p2, []float32{0.5, 0.5})
		if p1[0] != p2[0] || p1[1] != p2[1] {
			t.Fatalf("%s: restored optimizer diverges: %v vs %v", name, p1, p2)
		}
	}
	o, _ := NewOptimizer(OptimizerConfig{Name: "fedadam"}, 2)
	if err := o.UnmarshalBinary([]byte{1, 2, 3}); err == nil {
		t.Fatal("corrupt optimizer state accepted")
	}
	if _, err := NewOptimizer(OptimizerConfig{Name: "sgdm"}, 1); err == nil {
		t.Fatal("unknown optimizer accepted")
	}
	if err := o.UnmarshalBinary(make([]byte, 8+4*2)); err == nil {
		t.Fatal("fedadam took fedavgm-sized state")
	}
	// FedAvgM with the default lr (1-beta) moves a steady delta as FedAvg
	// would, once the momentum has built up: after n steps of delta 1 the
	// model moved sum_k (1 - 0.9^k), about n - 10.
	o, _ = NewOptimizer(OptimizerConfig{Name: "fedavgm"}, 1)
	p := []float32{0}
	for range 100 {
		o.Step(p, []float32{1})
	}
	if math.Abs(float64(p[0])-(100-9*(1-math.Pow(0.9, 100)))) > 1e-3 {
		t.Fatalf("fedavgm after 100 unit steps: %v", p[0])
	}
	// FedAdam's first step is bounded by about lr regardless of the delta's scale.
	o, _ = NewOptimizer(OptimizerConfig{Name: "fedadam", LR: 0.1}, 1)
	p = []float32{0}
	o.Step(p, []float32{1e6})
	if p[0] <= 0 || p[0] > 0.35 {
		t.Fatalf("fedadam first step %v", p[0])
	}
}

func TestHMACTokens(t *testing.T) {
	h := HMACTokens{Secret: []byte("k")}
	tok := h.Issue("dev-1")
	if d, err := h.Authenticate(tok); err != nil || d != "dev-1" {
		t.Fatalf("%q %v", d, err)
	}
	for _, bad := range []string{"", "dev-1", "dev-1.", "dev-2." + tok[len("dev-1."):], tok + "x", ".abc"} {
		if _, err := h.Authenticate(bad); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("token %q accepted", bad)
		}
	}
	if _, err := (HMACTokens{}).Authenticate(tok); err == nil {
		t.Fatal("empty secret accepted a token")
	}
}

func BenchmarkAggregateMean(b *testing.B) {
	const dim = 1 << 20
	p := EncodeFloat32(make([]float32, dim))
	a, _ := NewAggregator(RuleConfig{}, dim, nil)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Add(p, 3); err != nil {
			b.Fatal(err)
		}
	}
}
