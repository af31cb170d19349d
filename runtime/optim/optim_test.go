package optim

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
)

func TestSGD(t *testing.T) {
	o, err := New(Config{LR: 0.5}, 2)
	if err != nil {
		t.Fatal(err)
	}
	p, g := []float32{1, 2}, []float32{0.2, -0.4}
	if err := o.Step(p, g, nil); err != nil {
		t.Fatal(err)
	}
	if p[0] != 0.9 || p[1] != 2.2 {
		t.Fatalf("params %v, want [0.9 2.2]", p)
	}
	if len(o.State()) != 0 {
		t.Fatal("plain SGD has state")
	}
}

func TestMomentum(t *testing.T) {
	o, _ := New(Config{LR: 1, Momentum: 0.5}, 1)
	p := []float32{0}
	o.Step(p, []float32{1}, nil) // v=1, p=-1
	o.Step(p, []float32{1}, nil) // v=1.5, p=-2.5
	if p[0] != -2.5 || o.State()[0] != 1.5 || o.Steps() != 2 {
		t.Fatalf("p %v state %v steps %d", p, o.State(), o.Steps())
	}
}

// Adam's first step moves every coordinate by about lr in the sign of the
// gradient (bias correction makes m/sqrt(v) = g/|g|).
func TestAdamFirstStep(t *testing.T) {
	o, _ := New(Config{Name: "adam", LR: 0.1}, 3)
	p := []float32{1, 1, 1}
	o.Step(p, []float32{5, -0.001, 0}, nil)
	want := []float32{0.9, 1.1, 1}
	for i := range p {
		if math.Abs(float64(p[i]-want[i])) > 1e-4 {
			t.Fatalf("p = %v, want ~%v", p, want)
		}
	}
	if len(o.State()) != 6 {
		t.Fatalf("adam state len %d, want 6", len(o.State()))
	}
}

// Adam minimizes a quadratic; checkpoint/restore mid-way continues exactly.
func TestAdamRestore(t *testing.T) {
	run := func(o *Optimizer, p []float32, steps int) {
		for i := 0; i < steps; i++ {
			g := make([]float32, len(p))
			for j := range p {
				g[j] = 2 * (p[j] - float32(j))
			}
			o.Step(p, g, nil)
		}
	}
	cfg := Config{Name: "adam", LR: 0.05}
	a, _ := New(cfg, 4)
	pa := []float32{5, -3, 2, 9}
	run(a, pa, 500)
	for j, v := range pa {
		if math.Abs(float64(v)-float64(j)) > 0.05 {
			t.Fatalf("adam did not converge: %v", pa)
		}
	}
	b, _ := New(cfg, 4)
	pb := []float32{5, -3, 2, 9}
	run(b, pb, 7)
	st, steps := append([]float32(nil), b.State()...), b.Steps()
	pc := append([]float32(nil), pb...)
	run(b, pb, 5)
	c, _ := New(cfg, 4)
	if err := c.Restore(st, steps); err != nil {
		t.Fatal(err)
	}
	run(c, pc, 5)
	for i := range pb {
		if pb[i] != pc[i] {
			t.Fatalf("restored run %v differs from uninterrupted %v", pc, pb)
		}
	}
	if err := c.Restore(st[:3], 1); err == nil {
		t.Fatal("Restore accepted a short state")
	}
}

// FedProx: with a zero data gradient, mu > 0 pulls the weights toward the
// global ones; mu = 0 leaves them alone.
func TestFedProxPullsTowardGlobal(t *testing.T) {
	global := []float32{1, -1, 0.5}
	for _, mu := range []float32{0, 0.5} {
		o, _ := New(Config{LR: 0.1, ProxMu: mu}, 3)
		if err := o.SetCenter(global); err != nil {
			t.Fatal(err)
		}
		p := []float32{3, 3, 3}
		d0 := dist(p, global)
		for i := 0; i < 50; i++ {
			o.Step(p, make([]float32, 3), nil)
		}
		d := dist(p, global)
		if mu == 0 && d != d0 {
			t.Fatalf("mu=0 moved the weights: %v", p)
		}
		if mu > 0 && d > d0*0.2 {
			t.Fatalf("mu=%v: distance %v -> %v, want a strong pull", mu, d0, d)
		}
	}
	o, _ := New(Config{LR: 0.1, ProxMu: 1}, 3)
	if err := o.SetCenter([]float32{1}); err == nil {
		t.Fatal("SetCenter accepted a wrong length")
	}
}

func dist(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i] - b[i])
		s += d * d
	}
	return math.Sqrt(s)
}

func TestConfigErrors(t *testing.T) {
	bad := []Config{{LR: 0}, {LR: -1}, {Name: "rmsprop", LR: 1}, {LR: 1, Momentum: 1}, {LR: 1, ProxMu: -1},
		{Name: "adam", LR: 1, Beta2: 1}, {LR: float32(math.NaN())}, {LR: 1, WeightDecay: -1}}
	for _, c := range bad {
		if _, err := New(c, 3); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v) err = %v, want ErrConfig", c, err)
		}
	}
	o, _ := New(Config{LR: 1}, 3)
	if err := o.Step(make([]float32, 2), make([]float32, 3), nil); err == nil {
		t.Fatal("Step accepted mismatched lengths")
	}
}

func TestConfigJSON(t *testing.T) {
	c := Config{Name: "adam", LR: 0.001, ProxMu: 0.01}
	b, _ := json.Marshal(c)
	if string(b) != `{"name":"adam","lr":0.001,"prox_mu":0.01}` {
		t.Fatalf("json %s", b)
	}
	var d Config
	if err := json.Unmarshal(b, &d); err != nil || d != c {
		t.Fatalf("round trip %+v %v", d, err)
	}
	o, _ := New(c, 1)
	if o.Config().Beta1 != 0.9 || o.Config().Eps != 1e-8 {
		t.Fatalf("defaults not filled: %+v", o.Config())
	}
}

func TestClipNorm(t *testing.T) {
	o, err := New(Config{LR: 1, ClipNorm: 1}, 2)
	if err != nil {
		t.Fatal(err)
	}
	p, g := []float32{0, 0}, []float32{3, 4} // norm 5 -> scaled to 1
	o.Step(p, g, nil)
	if math.Abs(float64(p[0]+0.6)) > 1e-6 || math.Abs(float64(p[1]+0.8)) > 1e-6 {
		t.Fatalf("clipped step gave %v, want [-0.6 -0.8]", p)
	}
	p, g = []float32{0, 0}, []float32{0.3, 0.4} // below the bound: unchanged
	o.Step(p, g, nil)
	if p[0] != -0.3 || p[1] != -0.4 {
		t.Fatalf("unclipped step gave %v", p)
	}
	if _, err := New(Config{LR: 1, ClipNorm: -1}, 1); !errors.Is(err, ErrConfig) {
		t.Fatalf("negative clip_norm: %v", err)
	}
}

func TestSetLR(t *testing.T) {
	o, _ := New(Config{LR: 1}, 1)
	if err := o.SetLR(0.5); err != nil || o.Config().LR != 0.5 {
		t.Fatalf("SetLR(0.5): %v, lr %v", err, o.Config().LR)
	}
	p := []float32{1}
	o.Step(p, []float32{1}, nil)
	if p[0] != 0.5 {
		t.Fatalf("step with lr 0.5 gave %v", p[0])
	}
	if err := o.SetLR(0); !errors.Is(err, ErrConfig) || o.Config().LR != 0.5 {
		t.Fatalf("SetLR(0): %v, lr %v", err, o.Config().LR)
	}
}

// A guard with a non-finite value leaves params and state untouched.
func TestStepGuard(t *testing.T) {
	o, err := New(Config{Name: "adam", LR: 0.1}, 2)
	if err != nil {
		t.Fatal(err)
	}
	p := []float32{1, 2}
	o.Step(p, []float32{1, 1}, []float32{0.5})
	after := append([]float32(nil), p...)
	state := append([]float32(nil), o.State()...)
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(-1))} {
		o.Step(p, []float32{1, 1}, []float32{0.5, bad})
		if p[0] != after[0] || p[1] != after[1] || o.State()[0] != state[0] || o.State()[3] != state[3] {
			t.Fatalf("guard %v: params %v state %v, want %v %v", bad, p, o.State(), after, state)
		}
	}
	if o.Step(p, []float32{1, 1}, []float32{0.5, 3}); p[0] == after[0] {
		t.Fatal("a finite guard blocked the update")
	}
}
