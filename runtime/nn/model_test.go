package nn

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"testing"

	"github.com/murmur-fl/murmur/runtime/optim"
)

func mustBuild(t testing.TB, s Spec, seed uint64) *Model {
	t.Helper()
	m, err := Build(s, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func builtin(t testing.TB, name string) Spec {
	t.Helper()
	s, err := Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func hashParams(p []float32) string {
	h := sha256.New()
	var b [4]byte
	for _, v := range p {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// The initial parameters of the built-in models are pinned: the same spec
// and seed must give the same bytes on every GOARCH and in every release
// (the relay and devices rely on it).
func TestBuiltinInitKnownAnswer(t *testing.T) {
	want := map[string]struct {
		n    int
		hash string
	}{
		"mlp": {101770, "eeebaa14ece6e0d7"},
		"cnn": {105866, "62ca05e1a6d082d0"},
		"gru": {460496, "f35b87a698b9d677"},
	}
	for _, name := range BuiltinNames() {
		m := mustBuild(t, builtin(t, name), 1)
		got := hashParams(m.Params())
		t.Logf("%s: %d params, %s", name, len(m.Params()), got)
		if len(m.Params()) != want[name].n {
			t.Errorf("%s: %d params, want %d", name, len(m.Params()), want[name].n)
		}
		if w := want[name].hash; w != "" && got != w {
			t.Errorf("%s: init hash %s, want %s", name, got, w)
		}
		if m2 := mustBuild(t, builtin(t, name), 1); hashParams(m2.Params()) != got {
			t.Errorf("%s: two builds with seed 1 differ", name)
		}
		if m3 := mustBuild(t, builtin(t, name), 2); hashParams(m3.Params()) == got {
			t.Errorf("%s: seeds 1 and 2 give the same parameters", name)
		}
	}
}

func TestLayoutContiguous(t *testing.T) {
	m := mustBuild(t, builtin(t, "gru"), 1)
	off := 0
	names := []string{"embedding0.weight", "gru0.weight_ih", "gru0.weight_hh", "gru0.bias_ih", "gru0.bias_hh", "dense0.weight", "dense0.bias"}
	for i, q := range m.Layout() {
		if q.Name != names[i] || q.Offset != off || q.Len != prod(q.Shape) {
			t.Fatalf("layout[%d] = %+v, want name %s at offset %d", i, q, names[i], off)
		}
		off += q.Len
	}
	if off != len(m.Params()) || off != len(m.Grads()) {
		t.Fatalf("layout covers %d, buffers %d/%d", off, len(m.Params()), len(m.Grads()))
	}
	l, err := builtin(t, "gru").Layout()
	if err != nil || len(l) != len(m.Layout()) || l[5].Offset != m.Layout()[5].Offset {
		t.Fatalf("Spec.Layout disagrees with Build: %v", err)
	}
}

func overfit(t *testing.T, s Spec, n, steps int, cfg optim.Config, want float32) {
	t.Helper()
	m := mustBuild(t, s, 3)
	o, err := optim.New(cfg, len(m.Params()))
	if err != nil {
		t.Fatal(err)
	}
	b := randBatch(m, n, 11)
	var first, loss float32
	for i := 0; i < steps; i++ {
		if loss, err = m.Step(b, o); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = loss
		}
	}
	e, err := m.Evaluate(b)
	if err != nil {
		t.Fatal(err)
	}
	if e.MeanLoss() > float64(want) || e.Accuracy() != 1 {
		t.Fatalf("after %d steps: loss %.4f (first %.4f), eval %+v acc %.3f; want loss < %v and accuracy 1", steps, loss, first, e, e.Accuracy(), want)
	}
}

func TestOverfitTinyBatch(t *testing.T) {
	adam := optim.Config{Name: "adam", LR: 0.01}
	t.Run("mlp-adam", func(t *testing.T) {
		overfit(t, Spec{Input: []int{20}, Loss: "softmax_xent", Layers: []LayerSpec{
			{Type: "dense", Units: 32}, {Type: "relu"}, {Type: "dense", Units: 5}}}, 8, 200, adam, 0.01)
	})
	t.Run("mlp-sgd-momentum", func(t *testing.T) {
		overfit(t, Spec{Input: []int{20}, Loss: "softmax_xent", Layers: []LayerSpec{
			{Type: "dense", Units: 32}, {Type: "tanh"}, {Type: "dense", Units: 5}}}, 8, 300, optim.Config{LR: 0.1, Momentum: 0.9}, 0.01)
	})
	t.Run("cnn", func(t *testing.T) {
		overfit(t, Spec{Input: []int{1, 8, 8}, Loss: "softmax_xent", Layers: []LayerSpec{
			{Type: "conv2d", Filters: 4, Kernel: 3, Pad: 1}, {Type: "relu"}, {Type: "maxpool2d", Kernel: 2},
			{Type: "flatten"}, {Type: "dense", Units: 4}}}, 8, 200, adam, 0.01)
	})
	t.Run("gru-seq", func(t *testing.T) {
		overfit(t, Spec{Input: []int{6}, Loss: "seq_xent", Layers: []LayerSpec{
			{Type: "embedding", Vocab: 10, Dim: 8}, {Type: "gru", Hidden: 32}, {Type: "dense", Units: 10}}}, 4, 300, adam, 0.05)
	})
}

func trainHash(t *testing.T, s Spec, seed uint64, steps int) string {
	m := mustBuild(t, s, seed)
	o, err := optim.New(optim.Config{Name: "adam", LR: 0.01}, len(m.Params()))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < steps; i++ {
		n := 5
		if i%3 == 2 {
			n = 3 // a short last batch
		}
		if _, err := m.Step(randBatch(m, n, uint64(100+i)), o); err != nil {
			t.Fatal(err)
		}
	}
	return hashParams(m.Params())
}

func TestDeterministicTraining(t *testing.T) {
	specs := []Spec{
		{Input: []int{1, 6, 6}, Loss: "softmax_xent", Layers: []LayerSpec{
			{Type: "conv2d", Filters: 3, Kernel: 3, Pad: 1}, {Type: "relu"}, {Type: "maxpool2d", Kernel: 2},
			{Type: "flatten"}, {Type: "dropout", Rate: 0.5}, {Type: "dense", Units: 4}}},
		{Input: []int{5}, Loss: "seq_xent", Layers: []LayerSpec{
			{Type: "embedding", Vocab: 9, Dim: 4}, {Type: "gru", Hidden: 6}, {Type: "dropout", Rate: 0.2}, {Type: "dense", Units: 9}}},
	}
	for _, s := range specs {
		a, b := trainHash(t, s, 1, 6), trainHash(t, s, 1, 6)
		if a != b {
			t.Fatalf("two identical runs differ: %s vs %s", a, b)
		}
		if c := trainHash(t, s, 2, 6); c == a {
			t.Fatalf("different seeds gave identical parameters")
		}
	}
}

func TestNoAllocsInSteadyState(t *testing.T) {
	for _, name := range BuiltinNames() {
		s := builtin(t, name)
		m := mustBuild(t, s, 1)
		o, _ := optim.New(optim.Config{Name: "adam", LR: 1e-3}, len(m.Params()))
		big, small := randBatch(m, 4, 1), randBatch(m, 2, 2)
		if _, err := m.Step(big, o); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(3, func() {
			if _, err := m.Step(small, o); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Step(big, o); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Evaluate(small); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per steady-state step", name, allocs)
		}
	}
}

// A smaller batch after a larger one reuses buffers and gives the same
// result as a fresh model would.
func TestVariableBatch(t *testing.T) {
	s := builtin(t, "cnn")
	a, b := mustBuild(t, s, 1), mustBuild(t, s, 1)
	big := randBatch(a, 6, 1)
	if _, err := a.Gradients(big); err != nil {
		t.Fatal(err)
	}
	small := randBatch(a, 3, 2)
	la, _ := a.Gradients(small)
	lb, _ := b.Gradients(small)
	if math.Abs(float64(la-lb)) > 1e-6 {
		t.Fatalf("loss after a bigger batch %v, fresh %v", la, lb)
	}
	for i, g := range a.Grads() {
		if math.Abs(float64(g-b.Grads()[i])) > 1e-5 {
			t.Fatalf("grad %d: %v vs fresh %v", i, g, b.Grads()[i])
		}
	}
}

func TestBufferSharing(t *testing.T) {
	m := mustBuild(t, builtin(t, "mlp"), 1)
	b := randBatch(m, 4, 1)
	before, _ := m.Forward(b)
	before = append([]float32(nil), before...)
	ext := make([]float32, len(m.Params()))
	if err := m.SetParams(ext); err != nil { // all zero: logits become 0
		t.Fatal(err)
	}
	out, _ := m.Forward(b)
	for _, v := range out {
		if v != 0 {
			t.Fatalf("zero params gave logit %v", v)
		}
	}
	// Point the model at an external buffer holding the original weights.
	orig := mustBuild(t, builtin(t, "mlp"), 1).Params()
	if err := m.UseBuffers(orig, nil); err != nil {
		t.Fatal(err)
	}
	out, _ = m.Forward(b)
	for i, v := range out {
		if v != before[i] {
			t.Fatalf("logit %d = %v after UseBuffers, want %v", i, v, before[i])
		}
	}
	orig[len(orig)-1] += 1 // dense1.bias[9]: the model sees writes to the external buffer
	out, _ = m.Forward(b)
	if out[9] != before[9]+1 {
		t.Fatalf("write to external buffer not seen: %v vs %v", out[9], before[9])
	}
	if err := m.SetParams(make([]float32, 3)); err == nil {
		t.Fatal("SetParams accepted a wrong length")
	}
	if err := m.UseBuffers(make([]float32, 3), nil); err == nil {
		t.Fatal("UseBuffers accepted a wrong length")
	}
}

func TestBadBatch(t *testing.T) {
	m := mustBuild(t, builtin(t, "mlp"), 1)
	g := mustBuild(t, builtin(t, "gru"), 1)
	ok := randBatch(m, 2, 1)
	gok := randBatch(g, 2, 1)
	cases := map[string]struct {
		m *Model
		b Batch
	}{
		"zero N":               {m, Batch{N: 0}},
		"short X":              {m, Batch{N: 2, X: ok.X[:10], Labels: ok.Labels}},
		"few labels":           {m, Batch{N: 2, X: ok.X, Labels: ok.Labels[:1]}},
		"label range":          {m, Batch{N: 2, X: ok.X, Labels: []int32{0, 10}}},
		"label -1":             {m, Batch{N: 2, X: ok.X, Labels: []int32{0, -1}}},
		"tokens for X":         {m, Batch{N: 2, Tokens: make([]int32, 2*784), Labels: ok.Labels}},
		"token range":          {g, Batch{N: 2, Tokens: append([]int32{2000}, gok.Tokens[1:]...), Labels: gok.Labels}},
		"neg token":            {g, Batch{N: 2, Tokens: append([]int32{-1}, gok.Tokens[1:]...), Labels: gok.Labels}},
		"seq labels":           {g, Batch{N: 2, Tokens: gok.Tokens, Labels: gok.Labels[:2]}},
		"huge N":               {m, Batch{N: 1 << 30}},
		"too many activations": {g, Batch{N: 2000, Tokens: make([]int32, 2000*32), Labels: make([]int32, 2000*32)}},
	}
	for name, c := range cases {
		if _, err := c.m.Gradients(c.b); !errors.Is(err, ErrBatch) {
			t.Errorf("%s: err = %v, want ErrBatch", name, err)
		}
		if _, err := c.m.Evaluate(c.b); !errors.Is(err, ErrBatch) {
			t.Errorf("%s: Evaluate err = %v, want ErrBatch", name, err)
		}
	}
	if _, err := g.Gradients(gok); err != nil {
		t.Fatalf("valid seq batch with -1 labels rejected: %v", err)
	}
}

func TestEvaluateTop3(t *testing.T) {
	m := mustBuild(t, builtin(t, "gru"), 1)
	b := randBatch(m, 3, 1)
	e, err := m.Evaluate(b)
	if err != nil {
		t.Fatal(err)
	}
	counted := 0
	for _, l := range b.Labels {
		if l >= 0 {
			counted++
		}
	}
	if e.Count != counted || e.Top3 < e.Top1 || e.MeanLoss() < 5 || e.MeanLoss() > 10 {
		t.Fatalf("untrained gru eval %+v (mean loss %.3f, want ~ln 2000 = 7.6)", e, e.MeanLoss())
	}
	sum := e.Add(e)
	if sum.Count != 2*e.Count || sum.Loss != 2*e.Loss {
		t.Fatalf("Add: %+v", sum)
	}
}

func TestStepRefusesNonFinite(t *testing.T) {
	m := mustBuild(t, builtin(t, "mlp"), 1)
	o, _ := optim.New(optim.Config{LR: 0.1}, len(m.Params()))
	b := randBatch(m, 2, 1)
	b.X[3] = float32(math.Inf(1))
	before := hashParams(m.Params())
	if _, err := m.Step(b, o); !errors.Is(err, ErrNonFinite) {
		t.Fatalf("err = %v, want ErrNonFinite", err)
	}
	if hashParams(m.Params()) != before || o.Steps() != 0 {
		t.Fatal("parameters or optimizer changed after a non-finite loss")
	}
}

// Evaluation in big batches does not allocate backward buffers, and
// mixing big evaluation batches with small training batches works.
func TestEvalTrainMixedSizes(t *testing.T) {
	for _, name := range []string{"cnn", "gru"} {
		m := mustBuild(t, builtin(t, name), 1)
		o, _ := optim.New(optim.Config{LR: 0.01}, len(m.Params()))
		big, small := randBatch(m, 6, 1), randBatch(m, 2, 2)
		e1, err := m.Evaluate(big)
		if err != nil {
			t.Fatal(err)
		}
		if m.capTrain != 0 {
			t.Fatalf("%s: evaluation reserved backward buffers", name)
		}
		if _, err := m.Step(small, o); err != nil {
			t.Fatal(err)
		}
		e2, err := m.Evaluate(big)
		if err != nil {
			t.Fatal(err)
		}
		if e2.Count != e1.Count || e2.Loss == e1.Loss {
			t.Fatalf("%s: eval after a step: %+v vs %+v", name, e2, e1)
		}
		if _, err := m.Step(big, o); err != nil {
			t.Fatal(err)
		}
	}
}

func TestVocab(t *testing.T) {
	if v := mustBuild(t, builtin(t, "gru"), 1).Vocab(); v != 2000 {
		t.Fatalf("gru vocab %d, want 2000", v)
	}
	if v := mustBuild(t, builtin(t, "mlp"), 1).Vocab(); v != 0 {
		t.Fatalf("mlp vocab %d, want 0", v)
	}
}
