package kerneltest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/murmur-fl/murmur/runtime/kernels"
)

// OpCase is one call of a kernels.Op with valid operands.
type OpCase struct {
	Op   kernels.Op
	Args kernels.Args
	Desc string // the shape, for messages
}

// OpCases returns random valid calls of every Op (several each, with odd
// sizes, special values such as -0, Inf and NaN, and every variant an op
// has: activations, optimizers, pooling windows, GRU output modes).
func OpCases(rng *rand.Rand) []OpCase {
	var cs []OpCase
	add := func(op kernels.Op, a kernels.Args, format string, v ...any) {
		cs = append(cs, OpCase{Op: op, Args: a, Desc: fmt.Sprintf(format, v...)})
	}
	f := func(n int) []float32 { return specialSlice(rng, n) }
	for it := 0; it < 6; it++ {
		outer, c, inner := 1+rng.IntN(5), 1+rng.IntN(7), 1+rng.IntN(9)
		if it%2 == 0 {
			inner = 1
		}
		add(kernels.OpBiasFill, kernels.Args{F: [10][]float32{f(outer * c * inner), f(c)}, N: [8]int{outer, inner}}, "outer %d c %d inner %d", outer, c, inner)
		add(kernels.OpBiasGrad, kernels.Args{F: [10][]float32{f(c), f(outer * c * inner)}, N: [8]int{outer, inner}}, "outer %d c %d inner %d", outer, c, inner)

		for kind := kernels.ReLU; kind <= kernels.Sigmoid; kind++ {
			n := 1 + rng.IntN(40)
			x := f(n)
			add(kernels.OpAct, kernels.Args{F: [10][]float32{x, f(n)}, N: [8]int{int(kind)}}, "kind %d n %d", kind, n)
			y := make([]float32, n)
			kernels.RunOn(kernels.Portable{}, kernels.OpAct, &kernels.Args{F: [10][]float32{x, y}, N: [8]int{int(kind)}})
			add(kernels.OpActGrad, kernels.Args{F: [10][]float32{y, f(n), f(n)}, N: [8]int{int(kind)}}, "kind %d n %d", kind, n)
		}

		rows, classes := 1+rng.IntN(9), 1+rng.IntN(12)
		labels := make([]int32, rows)
		for i := range labels {
			labels[i] = int32(rng.IntN(classes+1)) - 1
		}
		logits := randSlice(rng, rows*classes)
		if it == 1 {
			logits[0] = float32(math.NaN())
		}
		add(kernels.OpXentGrad, kernels.Args{F: [10][]float32{logits, f(rows * classes)}, I: [2][]int32{labels}, N: [8]int{classes}}, "rows %d classes %d", rows, classes)
		add(kernels.OpXentGrad, kernels.Args{F: [10][]float32{logits, f(rows * classes), f(1)}, I: [2][]int32{labels}, N: [8]int{classes}}, "rows %d classes %d loss out", rows, classes)
		add(kernels.OpXentEval, kernels.Args{F: [10][]float32{logits}, I: [2][]int32{labels}, N: [8]int{classes}}, "rows %d classes %d", rows, classes)

		planes, h, w := 1+rng.IntN(3), 2+rng.IntN(8), 2+rng.IntN(8)
		k, s := 1+rng.IntN(min(h, w, 3)), 1+rng.IntN(2)
		if it%2 == 0 {
			k, s = 2, 2
		}
		oh, ow := (h-k)/s+1, (w-k)/s+1
		x := f(planes * h * w)
		y, arg := make([]float32, planes*oh*ow), make([]int32, planes*oh*ow)
		add(kernels.OpMaxPool, kernels.Args{F: [10][]float32{x, f(len(y))}, I: [2][]int32{make([]int32, len(arg))}, N: [8]int{planes, h, w, k, s}}, "planes %d %dx%d k %d s %d", planes, h, w, k, s)
		kernels.RunOn(kernels.Portable{}, kernels.OpMaxPool, &kernels.Args{F: [10][]float32{x, y}, I: [2][]int32{arg}, N: [8]int{planes, h, w, k, s}})
		add(kernels.OpMaxPoolGrad, kernels.Args{F: [10][]float32{f(len(y)), f(len(x))}, I: [2][]int32{arg}}, "planes %d %dx%d k %d s %d", planes, h, w, k, s)

		g := kernels.ConvGeom{C: 1 + rng.IntN(3), H: 1 + rng.IntN(9), W: 1 + rng.IntN(9), K: 1, S: 1 + rng.IntN(2), P: rng.IntN(2)}
		g.K = 1 + rng.IntN(min(g.H, g.W)+2*g.P)
		ncol := g.C * g.K * g.K * g.OutH() * g.OutW()
		geom := [8]int{g.C, g.H, g.W, g.K, g.S, g.P}
		add(kernels.OpIm2Col, kernels.Args{F: [10][]float32{f(g.C * g.H * g.W), f(ncol)}, N: geom}, "%+v", g)
		add(kernels.OpCol2Im, kernels.Args{F: [10][]float32{f(ncol), f(g.C * g.H * g.W)}, N: geom}, "%+v", g)

		vocab, dim, ntok := 1+rng.IntN(20), 1+rng.IntN(9), 1+rng.IntN(30)
		tokens := make([]int32, ntok)
		for i := range tokens {
			tokens[i] = int32(rng.IntN(vocab))
		}
		add(kernels.OpEmbedGather, kernels.Args{F: [10][]float32{f(vocab * dim), f(ntok * dim)}, I: [2][]int32{tokens}, N: [8]int{dim}}, "vocab %d dim %d tokens %d", vocab, dim, ntok)
		add(kernels.OpEmbedGrad, kernels.Args{F: [10][]float32{f(vocab * dim), f(ntok * dim)}, I: [2][]int32{tokens}, N: [8]int{dim}}, "vocab %d dim %d tokens %d", vocab, dim, ntok)
		// The core gathers labels and tokens as float32 bit patterns
		// (subnormals, and -1 is a NaN): the gather must move bits.
		moved := make([]float32, vocab*dim)
		for i := range moved {
			moved[i] = math.Float32frombits(uint32(int32(rng.IntN(1000)) - 1))
		}
		add(kernels.OpEmbedGather, kernels.Args{F: [10][]float32{moved, f(ntok * dim)}, I: [2][]int32{tokens}, N: [8]int{dim}}, "int32 bit patterns: vocab %d dim %d tokens %d", vocab, dim, ntok)

		n, T, H := 1+rng.IntN(4), 1+rng.IntN(5), 1+rng.IntN(9)
		t := rng.IntN(T)
		nth := n * T * H
		add(kernels.OpGRUForward, kernels.Args{F: [10][]float32{randSlice(rng, 3*nth), randSlice(rng, 3*n*H), randSlice(rng, nth), f(nth), f(nth), f(nth), f(nth)},
			N: [8]int{n, T, t, H}}, "n %d T %d t %d H %d", n, T, t, H)
		for mode := 0; mode < 3; mode++ { // no dy, dy at every step, dy at the last step only
			var dy []float32
			switch mode {
			case 1:
				dy = randSlice(rng, nth)
			case 2:
				dy = randSlice(rng, n*H)
			}
			add(kernels.OpGRUBackward, kernels.Args{F: [10][]float32{randSlice(rng, nth), randSlice(rng, nth), randSlice(rng, nth), randSlice(rng, nth), randSlice(rng, nth),
				randSlice(rng, n*H), dy, f(3 * nth), f(3 * n * H), f(n * H)}, N: [8]int{n, T, t, H, mode / 2}}, "n %d T %d t %d H %d dy mode %d", n, T, t, H, mode)
		}

		vals := make([]int32, 1+rng.IntN(40))
		for i := range vals {
			vals[i] = int32(rng.IntN(14)) - 2
		}
		add(kernels.OpRangeCheck, kernels.Args{I: [2][]int32{vals}, N: [8]int{rng.IntN(2), 9 + rng.IntN(4)}}, "n %d", len(vals))
		order := make([]int32, rng.IntN(300))
		add(kernels.OpPermute, kernels.Args{I: [2][]int32{order}, N: [8]int{rng.IntN(1 << 31), rng.IntN(1 << 31), rng.IntN(4)}}, "n %d", len(order))
		nd := rng.IntN(200)
		rate := []float32{0, 0.1, 0.5, 0.9}[it%4]
		add(kernels.OpDropout, kernels.Args{F: [10][]float32{f(nd), f(nd), f(nd)}, N: [8]int{rng.IntN(1 << 31), rng.IntN(1 << 31), rng.IntN(4)}, S: [8]float32{rate}},
			"n %d rate %v", nd, rate)
		add(kernels.OpMul, kernels.Args{F: [10][]float32{f(nd), f(nd), f(nd)}}, "n %d", nd)

		for kind := kernels.SGD; kind <= kernels.Adam; kind++ {
			np := 1 + rng.IntN(50)
			state := []float32{}
			switch kind {
			case kernels.SGDMomentum:
				state = randSlice(rng, np)
			case kernels.Adam:
				state = randSlice(rng, 2*np)
				for i := np; i < 2*np; i++ {
					state[i] = float32(math.Abs(float64(state[i])))
				}
			}
			var center []float32
			var hyper [8]float32
			hyper[0], hyper[1], hyper[2], hyper[3] = 0.01+rng.Float32(), 0.9, 0.999, 1e-8
			if it%2 == 1 {
				center = randSlice(rng, np)
				hyper[4], hyper[5], hyper[6] = 0.01, 0.5, 0.1 // weight decay, clip norm, prox mu
			}
			var guard []float32 // none, finite losses, or a non-finite one last
			switch it % 3 {
			case 1:
				guard = randSlice(rng, 1+rng.IntN(4))
			case 2:
				guard = append(randSlice(rng, rng.IntN(4)), []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}[rng.IntN(3)])
			}
			add(kernels.OpOptimStep, kernels.Args{F: [10][]float32{randSlice(rng, np), randSlice(rng, np), state, center, guard}, N: [8]int{int(kind)}, S: hyper},
				"kind %d n %d prox %v guard %v", kind, np, center != nil, guard)
		}
	}
	return cs
}

// CheckOp runs c on b and on the portable code, each on its own copy of the
// operands, and returns an error naming the first output that differs in
// any bit. A backend that declines the op passes.
func CheckOp(b kernels.OpsBackend, c OpCase) error {
	want, got := cloneArgs(c.Args), cloneArgs(c.Args)
	if err := kernels.RunOn(kernels.Portable{}, c.Op, &want); err != nil {
		return fmt.Errorf("%s %s: portable: %v", c.Op, c.Desc, err)
	}
	if !b.RunOp(c.Op, &got) {
		return nil
	}
	for k := range want.F {
		if !slices.Equal(bitsOf(want.F[k]), bitsOf(got.F[k])) {
			return fmt.Errorf("%s %s: float array %d differs from the portable result", c.Op, c.Desc, k)
		}
	}
	for k := range want.I {
		if !slices.Equal(want.I[k], got.I[k]) {
			return fmt.Errorf("%s %s: int array %d differs from the portable result", c.Op, c.Desc, k)
		}
	}
	for k := range want.R {
		if math.Float64bits(want.R[k]) != math.Float64bits(got.R[k]) {
			return fmt.Errorf("%s %s: result %d = %v, portable %v", c.Op, c.Desc, k, got.R[k], want.R[k])
		}
	}
	return nil
}

// RunOps checks every op of OpCases on b bit for bit against the portable
// code.
func RunOps(t *testing.T, b kernels.OpsBackend) {
	t.Helper()
	seen := map[kernels.Op]bool{}
	for _, c := range OpCases(rand.New(rand.NewPCG(3, 5))) {
		if err := CheckOp(b, c); err != nil {
			t.Fatal(err)
		}
		seen[c.Op] = true
	}
	for _, op := range kernels.Ops() {
		if !seen[op] {
			t.Errorf("OpCases has no case for %s", op)
		}
	}
}

func cloneArgs(a kernels.Args) kernels.Args {
	for k := range a.F {
		a.F[k] = slices.Clone(a.F[k])
	}
	for k := range a.I {
		a.I[k] = slices.Clone(a.I[k])
	}
	return a
}

// specialSlice is randSlice with a few signed zeros, infinities and large
// values mixed in.
func specialSlice(rng *rand.Rand, n int) []float32 {
	s := randSlice(rng, n)
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), 1e30, -3}
	for i := range s {
		if rng.IntN(8) == 0 {
			s[i] = specials[rng.IntN(len(specials))]
		}
	}
	return s
}
