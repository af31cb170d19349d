package kernels

import (
	"errors"
	"fmt"
	"math"

	"github.com/murmur-fl/murmur/runtime/tensor"
)

// Op names one of the non-GEMM kernels of a training step: bias broadcasts
// and reductions, activations, the loss, pooling, convolution data movement,
// embedding gathers, the GRU cell and the optimizer update. Once GEMM is
// fast these loops are most of a step, and in the wasm core they run 5-10x
// slower than native code, so a host may take them over (OpsBackend).
//
// Every Op reads and writes its operands in the slots of Args documented
// beside it; the portable implementations (RunOn with a backend that is not
// an OpsBackend) define the results bit for bit. The numeric values are part
// of the wasm ABI (wasm/ABI.md, murmur_accel.run) and never change.
type Op uint32

const (
	// OpBiasFill: F0 y [outer, len(F1), inner] ← F1 b broadcast:
	// y[o, f, i] = b[f]. N0 outer, N1 inner.
	OpBiasFill Op = 1 + iota
	// OpBiasGrad: F0 g[f] += sum over o, i of F1 dy[o, f, i]. N0 outer,
	// N1 inner. With inner 1 each value is added to g directly; otherwise
	// each (o, f) run is summed first, then added.
	OpBiasGrad
	// OpAct: F1 y = act(F0 x) elementwise (y may be x). N0 Activation.
	OpAct
	// OpActGrad: F2 dx = F1 dy * act'(F0 y), from the activation's output
	// y (dx may be dy). N0 Activation.
	OpActGrad
	// OpXentGrad: softmax cross-entropy over rows of N0 classes of F0
	// logits with I0 labels (-1 skips a row); writes the gradient of the
	// mean loss into F1 and the mean loss into R0 and, when F2 is not
	// empty, into F2[0] (where a later kernel, OpOptimStep's guard, can
	// read it without the caller waiting for the result).
	OpXentGrad
	// OpXentEval: scores rows of N0 classes of F0 logits against I0 labels
	// (-1 skips): R0 loss sum, R1 count, R2 top-1 hits, R3 top-3 hits.
	OpXentEval
	// OpMaxPool: max over N3×N3 windows with stride N4 of N0 planes of
	// N1×N2 in F0 x; writes F1 y and the flat argmax I0 (first maximum
	// wins ties).
	OpMaxPool
	// OpMaxPoolGrad: clears F1 dx and adds F0 dy[o] into dx[I0 arg[o]].
	OpMaxPoolGrad
	// OpIm2Col: F1 col ← F0 img for ConvGeom{N0..N5} = {C, H, W, K, S, P}.
	OpIm2Col
	// OpCol2Im: F1 img ← adjoint of Im2Col of F0 col (cleared first).
	OpCol2Im
	// OpEmbedGather: row i of F1 y (N0 wide) = row I0 tokens[i] of F0 table.
	OpEmbedGather
	// OpEmbedGrad: row I0 tokens[i] of F0 gw += row i of F1 dy (N0 wide).
	OpEmbedGrad
	// OpGRUForward: one time step N2 of a GRU over N0 examples, sequence
	// N1, hidden N3 (see GRUStep): reads F0 gi, F1 gh and F2 hs at t-1;
	// writes F3 r, F4 z, F5 n, F6 hn and F2 hs at t.
	OpGRUForward
	// OpGRUBackward: the adjoint of OpGRUForward at step N2: reads F0 r,
	// F1 z, F2 n, F3 hn, F4 hs, F5 dh and F6 dy (empty: none; N4 = 1 when
	// dy holds only the last step); writes F7 dgi, F8 dgh and F9 dhp.
	OpGRUBackward
	// OpOptimStep: one update of F0 params from F1 grads (modified by
	// clipping, weight decay and the proximal term), F2 optimizer state,
	// F3 FedProx center (empty: none). N0 OptimKind; S0..S6 as OptimHyper.
	// When a value of F4 guard (the losses of the steps so far) is not
	// finite, nothing changes: a diverging run never applies an update.
	OpOptimStep
	// OpRangeCheck: R0 = the index of the first value of I0 outside
	// [N0 - 1, N1) (the offset lets -1, "no label", travel as a size), or
	// -1 when all are inside. The per-step validation of labels and tokens.
	OpRangeCheck
	// OpPermute: I0 ← a uniformly random permutation of 0..len(I0)-1 from
	// the SplitMix64 generator of runtime/tensor whose state is N0 | N1<<31
	// | N2<<62 (sizes hold 31 bits); R0, R1 = the state after, low and high
	// 32 bits. An epoch's shuffle (the shuffle of runtime/data), so the
	// wasm core does not loop over its examples.
	OpPermute
	// OpDropout: inverted dropout of F0 x into F1 y with mask F2 (each
	// len(x)): one draw per element from the generator of OpPermute in
	// state N0 | N1<<31 | N2<<62; mask[i] = 1/(1 - S0 rate) when the draw
	// is >= rate, else 0, and y[i] = x[i] * mask[i]. The state after is
	// len(x) draws on (tensor.RNG.Skip), so the op returns nothing and the
	// wasm core need not wait for it.
	OpDropout
	// OpMul: F2 z = F0 x * F1 y elementwise (z may alias x or y): the
	// backward pass of dropout.
	OpMul

	opEnd
)

var opNames = [...]string{
	OpBiasFill: "bias_fill", OpBiasGrad: "bias_grad", OpAct: "act", OpActGrad: "act_grad",
	OpXentGrad: "xent_grad", OpXentEval: "xent_eval", OpMaxPool: "maxpool", OpMaxPoolGrad: "maxpool_grad",
	OpIm2Col: "im2col", OpCol2Im: "col2im", OpEmbedGather: "embed_gather", OpEmbedGrad: "embed_grad",
	OpGRUForward: "gru_forward", OpGRUBackward: "gru_backward", OpOptimStep: "optim_step",
	OpRangeCheck: "range_check", OpPermute: "permute", OpDropout: "dropout", OpMul: "mul",
}

// String returns the op's ABI name ("bias_fill", ...).
func (op Op) String() string {
	if op > 0 && op < opEnd {
		return opNames[op]
	}
	return fmt.Sprintf("op(%d)", uint32(op))
}

// Ops lists every Op, for conformance tests.
func Ops() []Op {
	ops := make([]Op, 0, opEnd-1)
	for op := Op(1); op < opEnd; op++ {
		ops = append(ops, op)
	}
	return ops
}

// Args are the operands of one Op, in fixed slots so that one descriptor
// layout carries every op across the wasm boundary (wasm/ABI.md). Unused
// slots are empty.
type Args struct {
	F [10][]float32 // float32 arrays
	I [2][]int32    // int32 arrays (labels, tokens, argmax indices)
	N [8]int        // sizes and small enums
	S [8]float32    // scalars
	R [4]float64    // results, written by the op
}

// OpsBackend is an optional extension of Backend: a backend that can run
// Ops (for example the wasm core's host, which runs them natively on guest
// memory). RunOp returns false to decline an op, which then runs portably.
// Results must equal the portable ones bit for bit; kerneltest checks it.
type OpsBackend interface {
	RunOp(op Op, a *Args) bool
}

// ErrBadOp is wrapped by RunOn's errors: an unknown op, or operands that
// do not fit the op (a slice too short, an index out of range).
var ErrBadOp = errors.New("kernels: bad op")

// RunOn runs op on b if b is an OpsBackend that accepts it, and with the
// portable code otherwise. For the portable code, operands may come from
// untrusted memory (a guest's): a bad op, a negative size or operands that
// do not fit give an error wrapping ErrBadOp, never a panic, though outputs
// may then be partly written. An OpsBackend gets the operands unchecked
// (the wasm core's host backend forwards them to a host that checks them
// with CheckOp, and checking twice would cost the guest more than the op).
func RunOn(b Backend, op Op, a *Args) (err error) {
	if op == 0 || op >= opEnd {
		return fmt.Errorf("%w: unknown op %d", ErrBadOp, uint32(op))
	}
	if ob, ok := b.(OpsBackend); ok && ob.RunOp(op, a) {
		return nil
	}
	return runChecked(op, a)
}

// runChecked runs op portably after CheckOp, turning a panic into an error.
func runChecked(op Op, a *Args) (err error) {
	if err := CheckOp(op, a); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s: %v", ErrBadOp, op, r)
		}
	}()
	runPortable(op, a)
	return nil
}

// run is RunOn on the current backend for the typed wrappers below, whose
// callers pass valid operands: an error is a bug, so it panics. It returns
// the op's results.
func run(op Op, a Args) [4]float64 {
	// An *Args passed through the OpsBackend interface escapes, and a
	// training step must not allocate: run borrows one.
	p := borrowArgs()
	*p = a
	if !loadInstalled().ops.RunOp(op, p) {
		if err := runChecked(op, p); err != nil {
			panic(err.Error())
		}
	}
	r := p.R
	returnArgs(p)
	return r
}

// CheckOp validates the sizes of an op against its operands, so that no op
// does more work than a small multiple of its operands' length: a host
// cannot interrupt a kernel, so a guest must not be able to make one spin.
// (Slices too short for the loops are caught by RunOn's bounds checks.) The
// error wraps ErrBadOp.
func CheckOp(op Op, a *Args) error {
	if op == 0 || op >= opEnd {
		return fmt.Errorf("%w: unknown op %d", ErrBadOp, uint32(op))
	}
	if err := checkSizes(op, a); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrBadOp, op, err)
	}
	return nil
}

func checkSizes(op Op, a *Args) error {
	for k, v := range a.N {
		if v < 0 || v > math.MaxInt32 {
			return fmt.Errorf("size n%d = %d out of range", k, v)
		}
	}
	f, n := &a.F, &a.N
	switch op {
	case OpBiasFill, OpBiasGrad:
		y := 0
		if op == OpBiasGrad {
			y = 1
		}
		if n[1] < 1 {
			return fmt.Errorf("inner size %d, want >= 1", n[1])
		}
		return need("the broadcast array", len(f[y]), n[0], len(f[1-y]), n[1], 1)
	case OpAct, OpActGrad:
		if n[0] > int(Sigmoid) {
			return fmt.Errorf("unknown activation %d", n[0])
		}
	case OpXentGrad, OpXentEval:
		if n[0] < 1 {
			return fmt.Errorf("%d classes", n[0])
		}
		return need("logits", len(f[0]), len(a.I[0]), n[0], 1, 1)
	case OpMaxPool:
		planes, h, w, k, st := n[0], n[1], n[2], n[3], n[4]
		if k < 1 || st < 1 || k > h || k > w {
			return fmt.Errorf("window %d stride %d on %dx%d images", k, st, h, w)
		}
		if err := need("x", len(f[0]), planes, h, w, 1); err != nil {
			return err
		}
		// Overlapping windows read each input up to (k/s)^2 times.
		return need("x (window reads)", 64*len(f[0]), planes, ((h-k)/st+1)*((w-k)/st+1), k, k)
	case OpPermute, OpDropout:
		if n[2] > 3 {
			return fmt.Errorf("generator state bits 62-63 = %d, want <= 3", n[2])
		}
	case OpEmbedGather, OpEmbedGrad:
		return need("the row array", len(f[1]), len(a.I[0]), n[0], 1, 1)
	case OpGRUForward, OpGRUBackward:
		if n[2] >= n[1] {
			return fmt.Errorf("step %d outside a sequence of %d", n[2], n[1])
		}
		gi := 0
		if op == OpGRUBackward {
			gi = 7
		}
		return need("gi", len(f[gi]), n[0], n[1], 3*n[3], 1)
	case OpOptimStep:
		if n[0] > int(Adam) {
			return fmt.Errorf("unknown optimizer kind %d", n[0])
		}
	}
	return nil
}

// need fails when the product a*b*c*d exceeds have. It never overflows:
// each factor is below 2^32 and the running product stays below have.
func need(what string, have, a, b, c, d int) error {
	p := 1
	for _, x := range [4]int{a, b, c, d} {
		if x != 0 && p > have/x {
			return fmt.Errorf("%s has %d values, too few for %d x %d x %d x %d", what, have, a, b, c, d)
		}
		p *= x
	}
	return nil
}

func runPortable(op Op, a *Args) {
	f, n, s := &a.F, &a.N, &a.S
	switch op {
	case OpBiasFill:
		biasFill(f[0], f[1], n[0], n[1])
	case OpBiasGrad:
		biasGrad(f[0], f[1], n[0], n[1])
	case OpAct:
		act(Activation(n[0]), f[0], f[1])
	case OpActGrad:
		actGrad(Activation(n[0]), f[0], f[1], f[2])
	case OpXentGrad:
		loss := xentGrad(f[0], a.I[0], n[0], f[1])
		a.R[0] = float64(loss)
		if len(f[2]) > 0 {
			f[2][0] = loss
		}
	case OpXentEval:
		loss, count, top1, top3 := xentEval(f[0], a.I[0], n[0])
		a.R = [4]float64{loss, float64(count), float64(top1), float64(top3)}
	case OpMaxPool:
		maxPool(f[0], f[1], a.I[0], n[0], n[1], n[2], n[3], n[4])
	case OpMaxPoolGrad:
		maxPoolGrad(f[0], f[1], a.I[0])
	case OpIm2Col:
		PortableIm2Col(geomOf(n), f[0], f[1])
	case OpCol2Im:
		PortableCol2Im(geomOf(n), f[0], f[1])
	case OpEmbedGather:
		embedGather(f[0], f[1], a.I[0], n[0])
	case OpEmbedGrad:
		embedGrad(f[0], f[1], a.I[0], n[0])
	case OpGRUForward:
		gruForward(gruStepOf(op, a))
	case OpGRUBackward:
		gruBackward(gruStepOf(op, a))
	case OpOptimStep:
		if allFinite(f[4]) {
			optimStep(OptimKind(n[0]), f[0], f[1], f[2], f[3], OptimHyper{s[0], s[1], s[2], s[3], s[4], s[5], s[6]})
		}
	case OpRangeCheck:
		a.R[0] = float64(rangeCheck(a.I[0], int64(n[0])-1, int64(n[1])))
	case OpPermute:
		st := permute(a.I[0], rngState(n))
		a.R[0], a.R[1] = float64(uint32(st)), float64(st>>32)
	case OpDropout:
		dropout(f[0], f[1], f[2], s[0], rngState(n))
	case OpMul:
		mul(f[0], f[1], f[2])
	}
}

func geomOf(n *[8]int) ConvGeom {
	return ConvGeom{C: n[0], H: n[1], W: n[2], K: n[3], S: n[4], P: n[5]}
}

func geomArgs(g ConvGeom) [8]int { return [8]int{g.C, g.H, g.W, g.K, g.S, g.P} }

// ---- typed entry points, used by runtime/nn and runtime/optim ----

// BiasFill writes b broadcast into y viewed as [outer, len(b), inner].
func BiasFill(y, b []float32, outer, inner int) {
	run(OpBiasFill, Args{F: [10][]float32{y, b}, N: [8]int{outer, inner}})
}

// BiasGrad adds the sums of dy [outer, len(g), inner] over outer and inner
// into g.
func BiasGrad(g, dy []float32, outer, inner int) {
	run(OpBiasGrad, Args{F: [10][]float32{g, dy}, N: [8]int{outer, inner}})
}

// Activation selects an elementwise nonlinearity.
type Activation int

// The activations, numbered as in the ABI.
const (
	ReLU Activation = iota
	Tanh
	Sigmoid
)

// Act writes act(x) into y (y may be x).
func Act(kind Activation, x, y []float32) {
	run(OpAct, Args{F: [10][]float32{x, y}, N: [8]int{int(kind)}})
}

// ActGrad writes dy*act'(x) into dx, computed from the output y = act(x)
// (dx may be dy).
func ActGrad(kind Activation, y, dy, dx []float32) {
	run(OpActGrad, Args{F: [10][]float32{y, dy, dx}, N: [8]int{int(kind)}})
}

// XentGrad computes softmax cross-entropy over rows of c logits, one label
// each (-1 skips a row), and writes the gradient of the mean loss into dl
// and the mean loss into loss[0] (read it after Sync).
func XentGrad(logits []float32, labels []int32, c int, dl, loss []float32) {
	run(OpXentGrad, Args{F: [10][]float32{logits, dl, loss[:1]}, I: [2][]int32{labels}, N: [8]int{c}})
}

// XentEval scores rows of c logits against labels (-1 skips a row): the
// summed loss, the rows counted, and how many labels ranked first and in
// the first three (a label's rank counts the strictly larger logits).
func XentEval(logits []float32, labels []int32, c int) (loss float64, count, top1, top3 int) {
	r := run(OpXentEval, Args{F: [10][]float32{logits}, I: [2][]int32{labels}, N: [8]int{c}})
	return r[0], int(r[1]), int(r[2]), int(r[3])
}

// MaxPool takes the maximum over k×k windows with stride s of planes
// h×w images in x, writing y and the flat argmax of each output into arg.
func MaxPool(x, y []float32, arg []int32, planes, h, w, k, s int) {
	run(OpMaxPool, Args{F: [10][]float32{x, y}, I: [2][]int32{arg}, N: [8]int{planes, h, w, k, s}})
}

// MaxPoolGrad routes dy back to the argmax positions: dx is cleared, then
// dx[arg[o]] += dy[o].
func MaxPoolGrad(dy, dx []float32, arg []int32) {
	run(OpMaxPoolGrad, Args{F: [10][]float32{dy, dx}, I: [2][]int32{arg}})
}

// Im2Col writes the [C*K*K, OH*OW] column matrix of one example: row
// (c*K+ki)*K+kj, column oi*OW+oj holds img[c, oi*S+ki-P, oj*S+kj-P], or 0
// where that falls in the padding. It panics if g or the lengths are bad.
func Im2Col(g ConvGeom, img, col []float32) {
	run(OpIm2Col, Args{F: [10][]float32{img, col}, N: geomArgs(g)})
}

// Col2Im clears img and adds the column gradients back into it (the
// adjoint of Im2Col), row by row in increasing row order.
func Col2Im(g ConvGeom, col, img []float32) {
	run(OpCol2Im, Args{F: [10][]float32{col, img}, N: geomArgs(g)})
}

// EmbedGather copies row tokens[i] of table (dim wide) into row i of y.
func EmbedGather(table, y []float32, tokens []int32, dim int) {
	run(OpEmbedGather, Args{F: [10][]float32{table, y}, I: [2][]int32{tokens}, N: [8]int{dim}})
}

// EmbedGrad adds row i of dy into row tokens[i] of gw (dim wide).
func EmbedGrad(gw, dy []float32, tokens []int32, dim int) {
	run(OpEmbedGrad, Args{F: [10][]float32{gw, dy}, I: [2][]int32{tokens}, N: [8]int{dim}})
}

// GRUStep is one time step T of a single-layer GRU (PyTorch's equations,
// gate order r, z, n) over N examples of a sequence of length Len with
// hidden size H, over batch-major buffers: GI [N, Len, 3H] input
// projections, GH [N, 3H] hidden projections of this step, and [N, Len, H]
// for HS (states), R, Z, NN (candidate n) and HN (W_hn h + b_hn).
// Backward also uses DH [N, H] (gradient w.r.t. the state at T), DY (the
// output gradient: [N, Len, H], or [N, H] for the last step only when
// LastOnly; nil when none reaches this step), and writes DGI (same layout
// as GI), DGH (as GH) and DHP [N, H] (gradient w.r.t. the state at T-1).
type GRUStep struct {
	N, Len, T, H             int
	LastOnly                 bool
	GI, GH, HS, R, Z, NN, HN []float32
	DH, DY, DGI, DGH, DHP    []float32
}

// GRUForward computes step s.T: the gates and the new state.
func GRUForward(s GRUStep) {
	run(OpGRUForward, Args{F: [10][]float32{s.GI, s.GH, s.HS, s.R, s.Z, s.NN, s.HN}, N: [8]int{s.N, s.Len, s.T, s.H}})
}

// GRUBackward computes the gate gradients of step s.T.
func GRUBackward(s GRUStep) {
	last := 0
	if s.LastOnly {
		last = 1
	}
	run(OpGRUBackward, Args{
		F: [10][]float32{s.R, s.Z, s.NN, s.HN, s.HS, s.DH, s.DY, s.DGI, s.DGH, s.DHP},
		N: [8]int{s.N, s.Len, s.T, s.H, last},
	})
}

func gruStepOf(op Op, a *Args) GRUStep {
	f, n := &a.F, &a.N
	s := GRUStep{N: n[0], Len: n[1], T: n[2], H: n[3]}
	if op == OpGRUForward {
		s.GI, s.GH, s.HS, s.R, s.Z, s.NN, s.HN = f[0], f[1], f[2], f[3], f[4], f[5], f[6]
		return s
	}
	s.R, s.Z, s.NN, s.HN, s.HS, s.DH, s.DY, s.DGI, s.DGH, s.DHP = f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9]
	s.LastOnly = n[4] != 0
	return s
}

// RangeCheck returns the index of the first value of v outside [lo, hi),
// or -1 when all are inside: the validation of a batch's labels and tokens,
// as a kernel so the wasm core does not loop over them itself. It panics
// unless -1 <= lo and 0 <= hi.
func RangeCheck(v []int32, lo, hi int32) int {
	if lo < -1 || hi < 0 {
		panic("kernels: RangeCheck bounds below -1 or 0")
	}
	r := run(OpRangeCheck, Args{I: [2][]int32{v}, N: [8]int{int(lo) + 1, int(hi)}})
	return int(r[0])
}

// Permute fills order with a uniformly random permutation of
// 0..len(order)-1 drawn from rng (the shuffle of runtime/data), as a kernel
// so the wasm core does not loop over a data set's examples each epoch.
func Permute(order []int32, rng *tensor.RNG) {
	r := run(OpPermute, Args{I: [2][]int32{order}, N: rngArgs(rng.State())})
	rng.SetState(uint64(r[0]) | uint64(r[1])<<32)
}

// Dropout writes inverted dropout of x at rate into y and the scales it
// used into mask (see OpDropout), drawing one number per element from rng.
func Dropout(x, y, mask []float32, rate float32, rng *tensor.RNG) {
	run(OpDropout, Args{F: [10][]float32{x, y, mask}, N: rngArgs(rng.State()), S: [8]float32{rate}})
	rng.Skip(len(x))
}

// Mul writes x * y elementwise into z.
func Mul(x, y, z []float32) {
	run(OpMul, Args{F: [10][]float32{x, y, z}})
}

// rngArgs carries a generator state in N0..N2 (sizes hold 31 bits).
func rngArgs(st uint64) [8]int {
	return [8]int{int(st & (1<<31 - 1)), int(st >> 31 & (1<<31 - 1)), int(st >> 62)}
}

// rngState is the generator state that rngArgs carried.
func rngState(n *[8]int) uint64 { return uint64(n[0]) | uint64(n[1])<<31 | uint64(n[2])<<62 }

// OptimKind selects the update rule of OptimStep.
type OptimKind int

// The update rules, numbered as in the ABI.
const (
	SGD         OptimKind = iota // w -= lr*g
	SGDMomentum                  // v = momentum*v + g; w -= lr*v (state: v)
	Adam                         // state: first then second moments
)

// OptimHyper are OptimStep's scalars. For Adam, LR and Eps already carry
// the bias corrections (step size lr*sqrt(1-b2^t)/(1-b1^t) and
// eps*sqrt(1-b2^t)) and Momentum is beta1.
type OptimHyper struct {
	LR, Momentum, Beta2, Eps, WeightDecay, ClipNorm, ProxMu float32
}

// OptimStep applies one update to params from grads (which it modifies
// when clipping, weight decay or the proximal term are active); center
// is FedProx's anchor (nil: none). It changes nothing when a value of
// guard is not finite (nil: no guard).
func OptimStep(kind OptimKind, params, grads, state, center, guard []float32, h OptimHyper) {
	run(OpOptimStep, Args{
		F: [10][]float32{params, grads, state, center, guard},
		N: [8]int{int(kind)},
		S: [8]float32{h.LR, h.Momentum, h.Beta2, h.Eps, h.WeightDecay, h.ClipNorm, h.ProxMu},
	})
}
