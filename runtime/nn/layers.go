package nn

import (
	"math"

	"github.com/murmur-fl/murmur/runtime/kernels"
	"github.com/murmur-fl/murmur/runtime/tensor"
)

// layer is one stage of a Model. Buffers are owned by the layer and sized
// by reserve for the largest batch seen, so steady-state steps allocate
// nothing; buffers only the backward pass uses are allocated only when
// train is set, so evaluating in big batches does not pay for them. forward's result stays valid until the next forward; backward
// accumulates parameter gradients and returns the input gradient (nil when
// needDX is false).
type layer interface {
	outShape() []int
	params() []pinit
	bind(p, g [][]float32)
	reserve(n int, needDX, train bool)
	forward(x []float32, n int, train bool) []float32
	backward(dy []float32, n int, needDX bool) []float32
}

// pinit describes one parameter tensor and how to initialize it.
type pinit struct {
	name  string // suffix: "weight", "bias", ...
	shape []int
	init  func(r *tensor.RNG, w []float32)
}

func zeroInit(*tensor.RNG, []float32) {}

func uniformInit(limit float32) func(*tensor.RNG, []float32) {
	return func(r *tensor.RNG, w []float32) { r.Uniform(w, -limit, limit) }
}

// glorot is Glorot/Xavier uniform: U(-a, a), a = sqrt(6/(fanIn+fanOut)).
func glorot(fanIn, fanOut int) func(*tensor.RNG, []float32) {
	return uniformInit(float32(math.Sqrt(6 / float64(fanIn+fanOut))))
}

// grow returns buf with at least n elements, reallocating only when it is
// too small. It never shortens buf (a smaller training batch after a big
// evaluation batch must not shrink buffers the evaluation still uses);
// users slice what they need.
func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:cap(buf)]
}

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// ---- dense ----

// dense computes y = x W^T + b over the last axis. W is [units, in]
// (PyTorch's Linear layout), b is [units].
type dense struct {
	in, units, rpe int // rpe: rows per example (product of leading axes)
	out            []int
	w, b, gw, gb   []float32
	x, y, dx       []float32
}

func newDense(inShape []int, units int) *dense {
	out := append(append([]int(nil), inShape[:len(inShape)-1]...), units)
	in := inShape[len(inShape)-1]
	return &dense{in: in, units: units, rpe: prod(inShape) / in, out: out}
}

func (d *dense) outShape() []int { return d.out }
func (d *dense) params() []pinit {
	return []pinit{
		{"weight", []int{d.units, d.in}, glorot(d.in, d.units)},
		{"bias", []int{d.units}, zeroInit},
	}
}
func (d *dense) bind(p, g [][]float32) { d.w, d.b, d.gw, d.gb = p[0], p[1], g[0], g[1] }
func (d *dense) reserve(n int, needDX, train bool) {
	d.y = grow(d.y, n*d.rpe*d.units)
	if needDX && train {
		d.dx = grow(d.dx, n*d.rpe*d.in)
	}
}
func (d *dense) forward(x []float32, n int, _ bool) []float32 {
	rows := n * d.rpe
	d.x = x[:rows*d.in]
	y := d.y[:rows*d.units]
	kernels.BiasFill(y, d.b, rows, 1)
	kernels.Gemm(false, true, rows, d.units, d.in, 1, d.x, d.in, d.w, d.in, 1, y, d.units)
	return y
}
func (d *dense) backward(dy []float32, n int, needDX bool) []float32 {
	rows := n * d.rpe
	kernels.Gemm(true, false, d.units, d.in, rows, 1, dy, d.units, d.x, d.in, 1, d.gw, d.in)
	kernels.BiasGrad(d.gb, dy, rows, 1)
	if !needDX {
		return nil
	}
	dx := d.dx[:rows*d.in]
	kernels.Gemm(false, false, rows, d.in, d.units, 1, dy, d.units, d.w, d.in, 0, dx, d.in)
	return dx
}

// ---- elementwise activations ----

// activation stores its output and differentiates through it. When it
// follows a dense or conv2d layer (whose backward pass does not read its
// own output) it works in place on that layer's output and on the incoming
// gradient, saving a buffer and a memory pass each way.
type activation struct {
	inplace bool
	out     []float32 // this batch's output, for backward
	kind    kernels.Activation
	shape   []int
	size    int
	y, dx   []float32
}

func (a *activation) outShape() []int       { return a.shape }
func (a *activation) params() []pinit       { return nil }
func (a *activation) bind(_, _ [][]float32) {}
func (a *activation) reserve(n int, needDX, train bool) {
	if a.inplace {
		return
	}
	a.y = grow(a.y, n*a.size)
	if needDX && train {
		a.dx = grow(a.dx, n*a.size)
	}
}
func (a *activation) forward(x []float32, n int, _ bool) []float32 {
	x = x[:n*a.size]
	y := x
	if !a.inplace {
		y = a.y[:len(x)]
	}
	a.out = y
	kernels.Act(a.kind, x, y)
	return y
}
func (a *activation) backward(dy []float32, n int, needDX bool) []float32 {
	if !needDX {
		return nil
	}
	y := a.out[:n*a.size]
	dy = dy[:len(y)]
	dx := dy
	if !a.inplace {
		dx = a.dx[:len(y)]
	}
	kernels.ActGrad(a.kind, y, dy, dx)
	return dx
}

// ---- flatten ----

type flatten struct{ out []int }

func (f *flatten) outShape() []int                              { return f.out }
func (f *flatten) params() []pinit                              { return nil }
func (f *flatten) bind(_, _ [][]float32)                        {}
func (f *flatten) reserve(int, bool, bool)                      {}
func (f *flatten) forward(x []float32, _ int, _ bool) []float32 { return x }
func (f *flatten) backward(dy []float32, _ int, needDX bool) []float32 {
	if !needDX {
		return nil
	}
	return dy
}

// ---- dropout ----

// dropout zeroes each element with probability rate during training and
// scales survivors by 1/(1-rate) (inverted dropout), so evaluation is the
// identity. Its random stream is the model's, seeded from the build seed.
type dropout struct {
	rate  float32
	shape []int
	size  int
	rng   *tensor.RNG
	mask  []float32
	y, dx []float32
}

func (d *dropout) outShape() []int       { return d.shape }
func (d *dropout) params() []pinit       { return nil }
func (d *dropout) bind(_, _ [][]float32) {}
func (d *dropout) reserve(n int, needDX, train bool) {
	if !train {
		return // identity in evaluation
	}
	d.mask = grow(d.mask, n*d.size)
	d.y = grow(d.y, n*d.size)
	if needDX {
		d.dx = grow(d.dx, n*d.size)
	}
}
func (d *dropout) forward(x []float32, n int, train bool) []float32 {
	x = x[:n*d.size]
	if !train || d.rate == 0 {
		return x
	}
	y := d.y[:len(x)]
	kernels.Dropout(x, y, d.mask[:len(x)], d.rate, d.rng)
	return y
}
func (d *dropout) backward(dy []float32, n int, needDX bool) []float32 {
	if !needDX {
		return nil
	}
	if d.rate == 0 {
		return dy
	}
	dx := d.dx[:n*d.size]
	kernels.Mul(dy[:len(dx)], d.mask[:len(dx)], dx)
	return dx
}
