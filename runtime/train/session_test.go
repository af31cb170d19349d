package train

import (
	"bytes"
	"errors"
	"testing"

	"github.com/murmur-fl/murmur/runtime/nn"
	"github.com/murmur-fl/murmur/runtime/tensor"
)

func tinySpec(t *testing.T) nn.Spec {
	t.Helper()
	spec, err := nn.ParseSpec([]byte(`{"input":[8],"layers":[{"type":"dense","units":16},{"type":"relu"},{"type":"dense","units":3}],"loss":"softmax_xent"}`))
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// blobs makes n examples of 8 features whose class is which third of the
// range their feature sum falls in: learnable but not trivial.
func blobs(n int, seed uint64) ([]float32, []int32) {
	r := tensor.NewRNG(seed)
	x := make([]float32, n*8)
	y := make([]int32, n)
	for i := 0; i < n; i++ {
		c := int32(r.Intn(3))
		for j := 0; j < 8; j++ {
			x[i*8+j] = float32(c) - 1 + 0.3*(r.Float32()-0.5)
		}
		y[i] = c
	}
	return x, y
}

func newSession(t *testing.T) *Session {
	t.Helper()
	s, err := New(tinySpec(t), 7)
	if err != nil {
		t.Fatal(err)
	}
	x, y := blobs(100, 1)
	if err := s.SetData(TrainSlot, x, nil, y, 100); err != nil {
		t.Fatal(err)
	}
	if err := s.BeginRound([]byte(`{"name":"sgd","lr":0.1,"momentum":0.9}`)); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTrainLearns(t *testing.T) {
	s := newSession(t)
	x, y := blobs(60, 2)
	if err := s.SetData(EvalSlot, x, nil, y, 60); err != nil {
		t.Fatal(err)
	}
	before, err := s.Evaluate(EvalSlot, 16)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Train(60, 16, 3); err != nil {
		t.Fatal(err)
	}
	after, _ := s.Evaluate(EvalSlot, 16)
	if !(after.Loss < before.Loss/2) || after.Accuracy < 0.95 {
		t.Fatalf("did not learn: loss %v -> %v, accuracy %v", before.Loss, after.Loss, after.Accuracy)
	}
	u := s.Update()
	var nonzero int
	for i, v := range u {
		if v != s.Params()[i]-s.Global()[i] {
			t.Fatal("Update is not params - global")
		}
		if v != 0 {
			nonzero++
		}
	}
	if nonzero == 0 {
		t.Fatal("update is all zeros after training")
	}
}

// TestCheckpointResumeIsExact interrupts training at a step that is not an
// epoch boundary, restores into a fresh session, and checks the final
// parameters equal those of an uninterrupted run bit for bit.
func TestCheckpointResumeIsExact(t *testing.T) {
	ref := newSession(t)
	if _, err := ref.Train(23, 16, 5); err != nil {
		t.Fatal(err)
	}

	a := newSession(t)
	a.Train(9, 16, 5)
	ck := a.Checkpoint()
	b := newSession(t) // the restarted device: same spec and data, fresh state
	b.Train(3, 16, 99) // state that Restore must overwrite
	if err := b.Restore(ck); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Train(14, 16, 5); err != nil {
		t.Fatal(err)
	}
	for i, v := range ref.Params() {
		if b.Params()[i] != v {
			t.Fatalf("param %d: resumed %v, uninterrupted %v", i, b.Params()[i], v)
		}
	}
	if !bytes.Equal(a.Checkpoint(), ck) {
		t.Fatal("Checkpoint changed the session")
	}
}

func TestRestoreRejectsBadCheckpoints(t *testing.T) {
	s := newSession(t)
	s.Train(4, 16, 1)
	ck := s.Checkpoint()
	before := append([]float32(nil), s.Params()...)
	other, _ := New(nn.Spec{Input: []int{8}, Layers: []nn.LayerSpec{{Type: "dense", Units: 3}}, Loss: "softmax_xent"}, 1)
	cases := map[string][]byte{
		"empty":     nil,
		"truncated": ck[:len(ck)/2],
		"bitflip":   append(append([]byte(nil), ck[:40]...), append([]byte{ck[40] ^ 1}, ck[41:]...)...),
		"otherspec": other.Checkpoint(),
	}
	for name, c := range cases {
		err := s.Restore(c)
		if !errors.Is(err, ErrInput) {
			t.Errorf("%s: err = %v, want ErrInput", name, err)
		}
	}
	for i, v := range before {
		if s.Params()[i] != v {
			t.Fatal("a failed Restore changed the parameters")
		}
	}
}

func TestInputErrors(t *testing.T) {
	s, _ := New(tinySpec(t), 1)
	if _, err := s.Train(1, 4, 0); !errors.Is(err, ErrState) {
		t.Errorf("Train before BeginRound: %v", err)
	}
	x, y := blobs(10, 1)
	for name, err := range map[string]error{
		"short x":    s.SetData(TrainSlot, x[:7], nil, y, 10),
		"bad label":  s.SetData(TrainSlot, x, nil, append(y[:9:9], 3), 10),
		"tokens":     s.SetData(TrainSlot, x, []int32{1}, y, 10),
		"bad slot":   s.SetData(2, x, nil, y, 10),
		"bad config": s.BeginRound([]byte(`{"name":"sgd","lr":0.1,"bogus":1}`)),
	} {
		if !errors.Is(err, ErrInput) {
			t.Errorf("%s: err = %v, want ErrInput", name, err)
		}
	}
}

// TestFedProxPullsTowardGlobal: with a large mu the local model drifts
// less from the global one.
func TestFedProxPullsTowardGlobal(t *testing.T) {
	drift := func(cfg string) float64 {
		s := newSession(t)
		s.BeginRound([]byte(cfg))
		s.Train(30, 16, 1)
		var d float64
		for _, v := range s.Update() {
			d += float64(v) * float64(v)
		}
		return d
	}
	plain, prox := drift(`{"lr":0.1}`), drift(`{"lr":0.1,"prox_mu":5}`)
	if !(prox < plain*0.8) {
		t.Fatalf("FedProx drift %v not below plain drift %v", prox, plain)
	}
}

func TestSetLR(t *testing.T) {
	s, _ := New(tinySpec(t), 1)
	if err := s.SetLR(0.1); !errors.Is(err, ErrState) {
		t.Fatalf("SetLR before BeginRound: %v", err)
	}
	a, b := newSession(t), newSession(t)
	if err := b.SetLR(1e-6); err != nil {
		t.Fatal(err)
	}
	if err := b.SetLR(-1); !errors.Is(err, ErrInput) {
		t.Fatalf("negative rate: %v", err)
	}
	a.Train(5, 16, 1)
	b.Train(5, 16, 1)
	var da, db float64
	for i := range a.Update() {
		da += float64(a.Update()[i] * a.Update()[i])
		db += float64(b.Update()[i] * b.Update()[i])
	}
	if !(db < da/100) {
		t.Fatalf("a tiny learning rate moved the model as far as the normal one: %g vs %g", db, da)
	}
}

// TestNonFiniteStopsUpdates diverges on purpose (a huge learning rate):
// Train reports nn.ErrNonFinite and leaves the parameters and the
// optimizer's step count where the last finite step left them, whether
// the steps ran queued in one call (losses read every queuedSteps) or one
// call per step.
func TestNonFiniteStopsUpdates(t *testing.T) {
	diverging := func() *Session {
		s := newSession(t)
		if err := s.BeginRound([]byte(`{"name":"adam","lr":1e30}`)); err != nil {
			t.Fatal(err)
		}
		return s
	}
	one := diverging()
	good := -1
	for i := 0; i < 200; i++ {
		if _, err := one.Train(1, 16, 3); err != nil {
			if !errors.Is(err, nn.ErrNonFinite) {
				t.Fatal(err)
			}
			good = i
			break
		}
	}
	if good < 1 {
		t.Fatalf("first non-finite loss at step %d: the test wants a few finite steps first (tune the learning rate)", good)
	}
	queued := diverging()
	_, err := queued.Train(200, 16, 3)
	if !errors.Is(err, nn.ErrNonFinite) {
		t.Fatalf("queued run: %v, want ErrNonFinite", err)
	}
	if a, b := one.opt.Steps(), queued.opt.Steps(); a != good || b != good {
		t.Errorf("optimizer steps %d (per call) and %d (queued), want %d", a, b, good)
	}
	for i, p := range one.Params() {
		if p != queued.Params()[i] {
			t.Fatalf("param %d: %v per call, %v queued", i, p, queued.Params()[i])
		}
		if p != p || p-p != 0 {
			t.Fatalf("param %d is %v: a non-finite update was applied", i, p)
		}
	}
}
