// Package nn builds trainable models from a declarative JSON Spec: layers,
// losses, a flat parameter buffer with a named layout, and a small API
// (Step, Gradients, Forward, Evaluate) that the wasm core wraps.
//
// Every trainable parameter lives in one contiguous []float32 (Params), and
// every gradient in a second one with the same layout (Grads); layers hold
// views into them. The buffers can therefore be sent, aggregated,
// checkpointed and shared across the wasm boundary without copying.
//
// All matrix products go through kernels.Gemm so that a host accelerator
// can take them. Training is deterministic: one goroutine, the same spec,
// seed and batches give bit-identical parameters, natively and in wasm
// (elementary functions come from runtime/tensor, not math).
package nn

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/murmur-fl/murmur/runtime/kernels"
	"github.com/murmur-fl/murmur/runtime/optim"
	"github.com/murmur-fl/murmur/runtime/tensor"
)

// Batch is a minibatch, batch-major. Exactly one of X (dense inputs, N
// examples of the spec's input size) or Tokens (token ids, for models whose
// first layer is an embedding) is set. Labels holds one class per example
// (softmax_xent) or one per position (seq_xent, N*T, -1 to ignore).
// Labels may be nil for Forward.
type Batch struct {
	N      int
	X      []float32
	Tokens []int32
	Labels []int32
	// Checked says the tokens and labels are known to be in range for the
	// model (runtime/train validates a data set once, when it is set), so
	// the per-batch range checks are skipped: they are kernels whose
	// answers the wasm core would have to wait for at every step.
	Checked bool
}

// ErrBatch is wrapped by every error about a malformed batch.
var ErrBatch = errors.New("nn: bad batch")

// ErrNonFinite is returned by Step when the loss is NaN or infinite; the
// parameters are left unchanged, so a diverging device never applies (or
// uploads) a poisoned update.
var ErrNonFinite = errors.New("nn: loss is not finite")

// MaxBatch bounds the batch size (buffers grow to the largest batch seen).
const MaxBatch = 1 << 16

// MaxBatchActivations bounds N times the sum of all layers' output sizes
// per example, so a large batch of a large model is refused with an error
// instead of exhausting memory (the buffers are a small multiple of it).
// The built-in cnn and gru allow batches of about 1500 and 950.
const MaxBatchActivations = 1 << 26

// Model is a built Spec: its layers, parameter and gradient buffers, and
// reusable activation buffers. It is not safe for concurrent use.
type Model struct {
	spec     Spec
	layers   []layer
	emb      *embedding
	tokens   bool
	inSize   int
	classes  int
	rows     int // label rows per example (1, or T for seq_xent)
	layout   []Param
	params   []float32
	grads    []float32
	capN     int // forward buffers hold this many examples
	capTrain int // backward buffers hold this many
	maxAct   int
	actSum   int
	dlogits  []float32
	loss     [1]float32  // Gradients' loss, written by a kernel
	rng      *tensor.RNG // dropout stream
	seq      bool
	pviews   [][]float32
	gviews   [][]float32
	perLayer []int // number of parameter tensors per layer
}

// Build validates spec and returns a model whose parameters are
// initialized from seed. The same spec and seed always give the same
// layout and the same initial parameters, on every GOARCH.
func Build(spec Spec, seed uint64) (*Model, error) {
	p, err := plan(spec)
	if err != nil {
		return nil, err
	}
	total := 0
	for _, q := range p.layout {
		total += q.Len
	}
	spec.Input = slices.Clone(spec.Input) // the model keeps its own copy
	spec.Layers = slices.Clone(spec.Layers)
	m := &Model{
		spec:   spec,
		layers: p.layers,
		tokens: p.tokens,
		layout: p.layout,
		params: make([]float32, total),
		grads:  make([]float32, total),
		maxAct: p.maxAct,
		actSum: p.actSum,
		seq:    spec.Loss == "seq_xent",
	}
	m.inSize = prod(spec.Input)
	m.classes = p.out[len(p.out)-1]
	m.rows = prod(p.out) / m.classes
	if p.tokens {
		m.emb = p.layers[0].(*embedding)
	}
	// Parameters are drawn in layout order from one stream; dropout gets
	// its own stream so adding a dropout layer does not change the init.
	root := tensor.NewRNG(seed)
	init := root.Split()
	m.rng = root.Split()
	for i, q := range p.layout {
		p.inits[i].init(init, m.params[q.Offset:q.Offset+q.Len])
	}
	for _, l := range m.layers {
		m.perLayer = append(m.perLayer, len(l.params()))
		if d, ok := l.(*dropout); ok {
			d.rng = m.rng
		}
	}
	m.bindAll()
	return m, nil
}

func (m *Model) bindAll() {
	k := 0
	for i, l := range m.layers {
		var pv, gv [][]float32
		for j := 0; j < m.perLayer[i]; j++ {
			q := m.layout[k]
			pv = append(pv, m.params[q.Offset:q.Offset+q.Len:q.Offset+q.Len])
			gv = append(gv, m.grads[q.Offset:q.Offset+q.Len:q.Offset+q.Len])
			k++
		}
		l.bind(pv, gv)
	}
}

// Spec returns the model's spec.
func (m *Model) Spec() Spec { return m.spec }

// Layout returns the parameter layout (shared by Params and Grads).
func (m *Model) Layout() []Param { return m.layout }

// Params returns the flat parameter buffer itself (not a copy); writes to
// it change the model.
func (m *Model) Params() []float32 { return m.params }

// Grads returns the flat gradient buffer, filled by Gradients and Step.
func (m *Model) Grads() []float32 { return m.grads }

// SetParams copies p into the parameter buffer.
func (m *Model) SetParams(p []float32) error {
	if len(p) != len(m.params) {
		return fmt.Errorf("nn: SetParams with %d values, model has %d", len(p), len(m.params))
	}
	copy(m.params, p)
	return nil
}

// UseBuffers points the model at externally owned parameter and gradient
// buffers (for example memory the wasm host shares) without copying; the
// model then reads and writes them in place. Pass nil grads to keep the
// model's own gradient buffer.
func (m *Model) UseBuffers(params, grads []float32) error {
	if len(params) != len(m.params) || (grads != nil && len(grads) != len(m.grads)) {
		return fmt.Errorf("nn: UseBuffers with %d params and %d grads, model has %d", len(params), len(grads), len(m.params))
	}
	m.params = params
	if grads != nil {
		m.grads = grads
	}
	m.bindAll()
	return nil
}

// InputSize is the number of X values (or tokens) per example.
func (m *Model) InputSize() int { return m.inSize }

// TokenInput reports whether the model takes Tokens rather than X.
func (m *Model) TokenInput() bool { return m.tokens }

// Vocab is the embedding's vocabulary size (tokens must lie in
// [0, Vocab)), or 0 when the model takes X.
func (m *Model) Vocab() int {
	if m.emb == nil {
		return 0
	}
	return m.emb.vocab
}

// LabelsPerExample is 1 for softmax_xent and the sequence length for seq_xent.
func (m *Model) LabelsPerExample() int { return m.rows }

// Classes is the size of the output's last axis.
func (m *Model) Classes() int { return m.classes }

// RNGState returns the dropout stream's state, for checkpoints.
func (m *Model) RNGState() uint64 { return m.rng.State() }

// SetRNGState restores the dropout stream's state.
func (m *Model) SetRNGState(s uint64) { m.rng.SetState(s) }

func (m *Model) check(b Batch, needLabels bool) error {
	if b.N <= 0 || b.N > MaxBatch {
		return fmt.Errorf("%w: N = %d, want 1..%d", ErrBatch, b.N, MaxBatch)
	}
	if b.N > MaxBatchActivations/max(m.actSum, 1) {
		return fmt.Errorf("%w: N = %d needs %d activations (%d per example), limit %d; use smaller batches",
			ErrBatch, b.N, b.N*m.actSum, m.actSum, MaxBatchActivations)
	}
	want := b.N * m.inSize
	if m.tokens {
		if len(b.Tokens) != want {
			return fmt.Errorf("%w: %d tokens for N = %d, want %d (%d per example)", ErrBatch, len(b.Tokens), b.N, want, m.inSize)
		}
		v := int32(m.emb.vocab)
		if !b.Checked {
			if i := kernels.RangeCheck(b.Tokens, 0, v); i >= 0 {
				return fmt.Errorf("%w: token %d at index %d outside vocabulary [0, %d)", ErrBatch, b.Tokens[i], i, v)
			}
		}
	} else if len(b.X) != want {
		return fmt.Errorf("%w: %d inputs for N = %d, want %d (%d per example)", ErrBatch, len(b.X), b.N, want, m.inSize)
	}
	if !needLabels {
		return nil
	}
	if len(b.Labels) != b.N*m.rows {
		return fmt.Errorf("%w: %d labels for N = %d, want %d (%d per example)", ErrBatch, len(b.Labels), b.N, b.N*m.rows, m.rows)
	}
	if b.Checked {
		return nil
	}
	lo := int32(0)
	if m.seq {
		lo = -1
	}
	c := int32(m.classes)
	if i := kernels.RangeCheck(b.Labels, lo, c); i >= 0 {
		return fmt.Errorf("%w: label %d at index %d outside [%d, %d)", ErrBatch, b.Labels[i], i, lo, c)
	}
	return nil
}

// reserve grows the buffers to hold a batch of n (only when n is larger
// than any batch seen so far in this mode); training also sizes the
// backward pass's buffers.
func (m *Model) reserve(n int, train bool) {
	if train && n > m.capTrain {
		for i, l := range m.layers {
			l.reserve(n, i > 0, true)
		}
		m.dlogits = grow(m.dlogits, n*m.rows*m.classes)
		m.capTrain = n
		m.capN = max(m.capN, n)
	}
	if n > m.capN {
		for i, l := range m.layers {
			l.reserve(n, i > 0, false)
		}
		m.capN = n
	}
}

func (m *Model) forward(b Batch, train bool) []float32 {
	m.reserve(b.N, train)
	x := b.X
	if m.tokens {
		m.emb.tokens = b.Tokens
	}
	for _, l := range m.layers {
		x = l.forward(x, b.N, train)
	}
	return x
}

// Forward runs the model in evaluation mode (dropout off) and returns the
// output (logits), N*LabelsPerExample rows of Classes values. The slice is
// the model's buffer, valid until the next call.
func (m *Model) Forward(b Batch) ([]float32, error) {
	if err := m.check(b, false); err != nil {
		return nil, err
	}
	return m.forward(b, false), nil
}

// Gradients runs a training forward and backward pass and leaves the
// gradient of the mean loss in Grads (overwritten, not accumulated). It
// returns the mean loss over the counted labels (all examples, or all
// positions not labelled -1).
func (m *Model) Gradients(b Batch) (float32, error) {
	if err := m.gradients(b, m.loss[:]); err != nil {
		return 0, err
	}
	kernels.Sync()
	return m.loss[0], nil
}

// gradients is Gradients with the loss written into loss[0] by a kernel
// that may still be queued when it returns.
func (m *Model) gradients(b Batch, loss []float32) error {
	if err := m.check(b, true); err != nil {
		return err
	}
	logits := m.forward(b, true)
	rows := b.N * m.rows
	dl := m.dlogits[:rows*m.classes]
	kernels.XentGrad(logits, b.Labels, m.classes, dl, loss)
	kernels.Zero(m.grads)
	dy := dl
	for i := len(m.layers) - 1; i >= 0; i-- {
		dy = m.layers[i].backward(dy, b.N, i > 0)
	}
	return nil
}

// Step computes gradients on b and applies one update of o; it returns the
// mean loss before the update. A non-finite loss returns ErrNonFinite and
// leaves the parameters (and o) untouched.
func (m *Model) Step(b Batch, o *optim.Optimizer) (float32, error) {
	loss, err := m.Gradients(b)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
		return loss, fmt.Errorf("%w (%v); parameters not updated", ErrNonFinite, loss)
	}
	if err := o.Step(m.params, m.grads, nil); err != nil {
		return 0, err
	}
	return loss, nil
}

// StepQueued is Step for a run of steps whose losses are read afterwards
// (runtime/train), so that a queuing kernels backend (the wasm core's)
// can run many steps per call into the host. It writes the mean loss into
// loss[0] and applies the update unless a value of guard (which should
// include loss[0] and the losses of the run's earlier steps) is not
// finite. Its kernels may not have run when it returns: call kernels.Sync
// before reading loss; telling the caller about a non-finite loss
// (ErrNonFinite) is the caller's job.
func (m *Model) StepQueued(b Batch, o *optim.Optimizer, loss, guard []float32) error {
	if err := m.gradients(b, loss); err != nil {
		return err
	}
	return o.Step(m.params, m.grads, guard)
}

// Eval accumulates evaluation results; Add combines batches.
type Eval struct {
	Loss  float64 `json:"loss"`  // sum of per-label cross-entropy
	Count int     `json:"count"` // labels scored (examples, or positions for seq_xent)
	Top1  int     `json:"top1"`  // labels ranked first
	Top3  int     `json:"top3"`  // labels ranked in the first three
}

// Add returns the sum of e and o.
func (e Eval) Add(o Eval) Eval {
	return Eval{e.Loss + o.Loss, e.Count + o.Count, e.Top1 + o.Top1, e.Top3 + o.Top3}
}

// MeanLoss returns Loss/Count (0 when empty).
func (e Eval) MeanLoss() float64 { return ratio(e.Loss, e.Count) }

// Accuracy returns the top-1 accuracy.
func (e Eval) Accuracy() float64 { return ratio(float64(e.Top1), e.Count) }

// Top3Accuracy returns the top-3 accuracy (the keyboard's suggestion bar).
func (e Eval) Top3Accuracy() float64 { return ratio(float64(e.Top3), e.Count) }

func ratio(a float64, n int) float64 {
	if n == 0 {
		return 0
	}
	return a / float64(n)
}

// Evaluate runs b in evaluation mode and scores it. A label's rank is the
// number of classes with a strictly larger logit, so ties count in favour.
func (m *Model) Evaluate(b Batch) (Eval, error) {
	if err := m.check(b, true); err != nil {
		return Eval{}, err
	}
	logits := m.forward(b, false)
	return xentEval(logits, b.Labels, m.classes), nil
}
