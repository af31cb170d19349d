package nn

import (
	"fmt"
	"math"
	"testing"

	"github.com/murmur-fl/murmur/runtime/kernels"
	"github.com/murmur-fl/murmur/runtime/tensor"
)

// randBatch returns a batch of n examples for m with inputs and labels
// drawn from seed; every fifth sequence label is -1 (ignored).
func randBatch(m *Model, n int, seed uint64) Batch {
	r := tensor.NewRNG(seed)
	b := Batch{N: n}
	if m.TokenInput() {
		b.Tokens = make([]int32, n*m.InputSize())
		for i := range b.Tokens {
			b.Tokens[i] = int32(r.Intn(m.Vocab()))
		}
	} else {
		b.X = make([]float32, n*m.InputSize())
		r.Uniform(b.X, -1, 1)
	}
	b.Labels = make([]int32, n*m.LabelsPerExample())
	for i := range b.Labels {
		b.Labels[i] = int32(r.Intn(m.Classes()))
		if m.seq && i%5 == 3 {
			b.Labels[i] = -1
		}
	}
	return b
}

// gradCheck compares analytic gradients with central differences.
// Tolerance: |num-ana| <= atol + rtol*max(|num|,|ana|), with atol 2e-3 and
// rtol 3e-2. The loss is float32 (about 1e-7 relative), so with step 1e-2
// the difference quotient is good to ~1e-4 plus O(step^2) curvature terms;
// kinks (ReLU, max) are avoided by the smooth random inputs with high
// probability and are tolerated for at most 1% of coordinates.
func gradCheck(t *testing.T, spec Spec, n int) {
	t.Helper()
	m, err := Build(spec, 7)
	if err != nil {
		t.Fatal(err)
	}
	// Make biases non-zero so they matter.
	r := tensor.NewRNG(99)
	for _, q := range m.Layout() {
		if q.Name[len(q.Name)-4:] == "bias" || q.Name[len(q.Name)-3:] == "_ih" || q.Name[len(q.Name)-3:] == "_hh" {
			p := m.Params()[q.Offset : q.Offset+q.Len]
			for i := range p {
				p[i] += 0.2 * (r.Float32() - 0.5)
			}
		}
	}
	b := randBatch(m, n, 5)
	rs := m.RNGState()
	if _, err := m.Gradients(b); err != nil {
		t.Fatal(err)
	}
	ana := append([]float32(nil), m.Grads()...)
	loss := func() float64 {
		m.SetRNGState(rs) // same dropout mask every time
		l, err := m.Gradients(b)
		if err != nil {
			t.Fatal(err)
		}
		return float64(l)
	}
	const h, atol, rtol = 1e-3, 3e-4, 1e-2
	p := m.Params()
	bad, checked := 0, 0
	for _, q := range m.Layout() {
		// Check every coordinate of small tensors, a strided sample of large ones.
		stride := max(1, q.Len/64)
		for i := q.Offset; i < q.Offset+q.Len; i += stride {
			w := p[i]
			p[i] = w + h
			lp := loss()
			p[i] = w - h
			lm := loss()
			p[i] = w
			num := (lp - lm) / (2 * h)
			a := float64(ana[i])
			checked++
			if math.Abs(num-a) > atol+rtol*math.Max(math.Abs(num), math.Abs(a)) {
				bad++
				if bad <= 5 {
					t.Logf("%s[%d]: analytic %.6g, numeric %.6g", q.Name, i-q.Offset, a, num)
				}
			}
		}
	}
	if bad > checked/100 {
		t.Fatalf("%d of %d gradient coordinates disagree with finite differences", bad, checked)
	}
	var nz int
	for _, g := range ana {
		if g != 0 {
			nz++
		}
	}
	if nz < len(ana)/2 {
		t.Fatalf("only %d of %d gradients are non-zero: check is vacuous", nz, len(ana))
	}
}

func TestGradients(t *testing.T) {
	L := func(typ string) LayerSpec { return LayerSpec{Type: typ} }
	cases := []Spec{
		{Name: "dense-relu", Input: []int{6}, Loss: "softmax_xent", Layers: []LayerSpec{
			{Type: "dense", Units: 5}, L("relu"), {Type: "dense", Units: 4}}},
		{Name: "tanh-sigmoid", Input: []int{6}, Loss: "softmax_xent", Layers: []LayerSpec{
			{Type: "dense", Units: 5}, L("tanh"), {Type: "dense", Units: 5}, L("sigmoid"), {Type: "dense", Units: 3}}},
		{Name: "dense-2d", Input: []int{3, 4}, Loss: "softmax_xent", Layers: []LayerSpec{
			{Type: "dense", Units: 5}, L("tanh"), L("flatten"), {Type: "dense", Units: 3}}},
		{Name: "dropout", Input: []int{6}, Loss: "softmax_xent", Layers: []LayerSpec{
			{Type: "dense", Units: 8}, {Type: "dropout", Rate: 0.3}, L("tanh"), {Type: "dense", Units: 3}}},
		{Name: "conv-pool", Input: []int{2, 6, 6}, Loss: "softmax_xent", Layers: []LayerSpec{
			{Type: "conv2d", Filters: 3, Kernel: 3, Pad: 1}, L("tanh"), {Type: "maxpool2d", Kernel: 2},
			{Type: "conv2d", Filters: 2, Kernel: 3, Stride: 2, Pad: 1}, L("relu"), L("flatten"), {Type: "dense", Units: 3}}},
		{Name: "conv-conv", Input: []int{2, 6, 6}, Loss: "softmax_xent", Layers: []LayerSpec{
			{Type: "conv2d", Filters: 3, Kernel: 3, Pad: 1}, L("tanh"),
			{Type: "conv2d", Filters: 2, Kernel: 3, Stride: 2, Pad: 1}, L("tanh"), L("flatten"), {Type: "dense", Units: 3}}},
		{Name: "conv-stride-pool-overlap", Input: []int{1, 7, 7}, Loss: "softmax_xent", Layers: []LayerSpec{
			{Type: "conv2d", Filters: 2, Kernel: 2, Stride: 2}, {Type: "maxpool2d", Kernel: 2, Stride: 1},
			L("flatten"), {Type: "dense", Units: 3}}},
		{Name: "embedding-gru-seq", Input: []int{4}, Loss: "seq_xent", Layers: []LayerSpec{
			{Type: "embedding", Vocab: 7, Dim: 3}, {Type: "gru", Hidden: 5}, {Type: "dense", Units: 7}}},
		{Name: "embedding-gru-last", Input: []int{5}, Loss: "softmax_xent", Layers: []LayerSpec{
			{Type: "embedding", Vocab: 6, Dim: 4}, {Type: "gru", Hidden: 3, Last: true}, {Type: "dense", Units: 4}}},
		{Name: "gru-stacked", Input: []int{3, 2}, Loss: "seq_xent", Layers: []LayerSpec{
			{Type: "gru", Hidden: 4}, {Type: "gru", Hidden: 3}, {Type: "dense", Units: 5}}},
	}
	for _, s := range cases {
		t.Run(s.Name, func(t *testing.T) { gradCheck(t, s, 3) })
	}
}

// TestLossGradient checks the loss layer alone against a float64 reference.
func TestLossGradient(t *testing.T) {
	logits := []float32{1, 2, 0.5, -1, 3, 0, 0, 0, 2}
	labels := []int32{1, -1, 0}
	dl := make([]float32, 9)
	var loss [1]float32
	kernels.XentGrad(logits, labels, 3, dl, loss[:])
	got := loss[0]
	var want float64
	for r, lab := range labels {
		if lab < 0 {
			for j := 0; j < 3; j++ {
				if dl[r*3+j] != 0 {
					t.Fatalf("ignored row %d has gradient %v", r, dl[r*3:r*3+3])
				}
			}
			continue
		}
		z := logits[r*3 : r*3+3]
		var s float64
		for _, v := range z {
			s += math.Exp(float64(v))
		}
		want += math.Log(s) - float64(z[lab])
		for j, v := range z {
			g := math.Exp(float64(v)) / s
			if int32(j) == lab {
				g--
			}
			g /= 2
			if math.Abs(g-float64(dl[r*3+j])) > 1e-6 {
				t.Fatalf("dl[%d][%d] = %v, want %v", r, j, dl[r*3+j], g)
			}
		}
	}
	want /= 2
	if math.Abs(want-float64(got)) > 1e-6 {
		t.Fatalf("loss %v, want %v", got, want)
	}
	e := xentEval(logits, labels, 3)
	if e.Count != 2 || e.Top1 != 1 || e.Top3 != 2 /* row 2: one logit above, one tied */ || math.Abs(e.Loss/2-want) > 1e-6 {
		t.Fatalf("eval %+v", e)
	}
	_ = fmt.Sprint()
}

// TestMaxPoolFastPath checks the unrolled 2x2/2 path (values and argmax,
// with many ties, odd sizes) against a direct reference.
func TestMaxPoolFastPath(t *testing.T) {
	r := tensor.NewRNG(8)
	for _, hw := range [][2]int{{4, 4}, {5, 7}, {2, 2}, {9, 3}} {
		H, W := hw[0], hw[1]
		mp := newMaxPool([]int{3, H, W}, 2, 2)
		mp.reserve(2, true, true)
		x := make([]float32, 2*3*H*W)
		for i := range x {
			x[i] = float32(r.Intn(4)) // many ties
		}
		y := mp.forward(x, 2, true)
		o := 0
		for pl := 0; pl < 2*3; pl++ {
			for oi := 0; oi < mp.oh; oi++ {
				for oj := 0; oj < mp.ow; oj++ {
					first := pl*H*W + 2*oi*W + 2*oj
					best := first
					for _, d := range []int{1, W, W + 1} { // row-major order: first max wins
						if x[first+d] > x[best] {
							best = first + d
						}
					}
					if y[o] != x[best] || mp.arg[o] != int32(best) {
						t.Fatalf("%v: out %d = %v@%d, want %v@%d", hw, o, y[o], mp.arg[o], x[best], best)
					}
					o++
				}
			}
		}
	}
}

func TestReLUSpecialValues(t *testing.T) {
	a := &activation{kind: kernels.ReLU, shape: []int{6}, size: 6}
	a.reserve(1, true, true)
	inf := float32(math.Inf(1))
	x := []float32{-2, float32(math.Copysign(0, -1)), 0, 3, -inf, inf}
	y := a.forward(x, 1, true)
	want := []float32{0, 0, 0, 3, 0, inf}
	for i := range want {
		if y[i] != want[i] || math.Signbit(float64(y[i])) {
			t.Fatalf("relu(%v) = %v, want %v", x[i], y[i], want[i])
		}
	}
	dx := a.backward([]float32{1, 2, 3, 4, 5, 6}, 1, true)
	wantDX := []float32{0, 0, 0, 4, 0, 6}
	for i := range wantDX {
		if dx[i] != wantDX[i] {
			t.Fatalf("relu'(%v)*dy = %v, want %v", x[i], dx[i], wantDX[i])
		}
	}
}
