package nn

import "github.com/murmur-fl/murmur/runtime/kernels"

// conv2d is a 2-D convolution over NCHW inputs ([C,H,W] per example) by
// im2col and GEMM, one example at a time so the column buffer stays small
// (C*K*K × OH*OW floats), which matters in wasm's memory. Weight is
// [F, C, K, K] (PyTorch's layout), bias [F]. The backward pass recomputes
// the columns instead of storing them for the whole batch.
type conv2d struct {
	c, h, w, f, k, s, pad int
	oh, ow, p, ckk        int
	out                   []int
	geom                  kernels.ConvGeom
	wt, b, gw, gb         []float32
	x, y, dx, col, dcol   []float32
}

func newConv2D(in []int, filters, kernel, stride, pad int) *conv2d {
	c := &conv2d{c: in[0], h: in[1], w: in[2], f: filters, k: kernel, s: stride, pad: pad}
	c.oh = (c.h+2*pad-kernel)/stride + 1
	c.ow = (c.w+2*pad-kernel)/stride + 1
	c.p = c.oh * c.ow
	c.ckk = c.c * kernel * kernel
	c.out = []int{filters, c.oh, c.ow}
	c.geom = kernels.ConvGeom{C: c.c, H: c.h, W: c.w, K: kernel, S: stride, P: pad}
	return c
}

func (c *conv2d) outShape() []int { return c.out }
func (c *conv2d) params() []pinit {
	return []pinit{
		{"weight", []int{c.f, c.c, c.k, c.k}, glorot(c.ckk, c.f*c.k*c.k)},
		{"bias", []int{c.f}, zeroInit},
	}
}
func (c *conv2d) bind(p, g [][]float32) { c.wt, c.b, c.gw, c.gb = p[0], p[1], g[0], g[1] }
func (c *conv2d) reserve(n int, needDX, train bool) {
	c.y = grow(c.y, n*c.f*c.p)
	c.col = grow(c.col, c.ckk*c.p)
	if needDX && train {
		c.dx = grow(c.dx, n*c.c*c.h*c.w)
		c.dcol = grow(c.dcol, c.ckk*c.p)
	}
}

// im2col and col2im go through runtime/kernels, so a host accelerator can
// take them (kernels.OpsBackend); the portable ones are bit-identical.
func (c *conv2d) im2col(x, col []float32) { kernels.Im2Col(c.geom, x, col) }

func (c *conv2d) col2im(col, dx []float32) { kernels.Col2Im(c.geom, col, dx) }

func (c *conv2d) forward(x []float32, n int, _ bool) []float32 {
	in := c.c * c.h * c.w
	c.x = x[:n*in]
	y := c.y[:n*c.f*c.p]
	kernels.BiasFill(y, c.b, n, c.p)
	for i := 0; i < n; i++ {
		yi := y[i*c.f*c.p : (i+1)*c.f*c.p]
		c.im2col(c.x[i*in:(i+1)*in], c.col)
		kernels.Gemm(false, false, c.f, c.p, c.ckk, 1, c.wt, c.ckk, c.col, c.p, 1, yi, c.p)
	}
	return y
}

func (c *conv2d) backward(dy []float32, n int, needDX bool) []float32 {
	in := c.c * c.h * c.w
	kernels.BiasGrad(c.gb, dy[:n*c.f*c.p], n, c.p)
	for i := 0; i < n; i++ {
		dyi := dy[i*c.f*c.p : (i+1)*c.f*c.p]
		c.im2col(c.x[i*in:(i+1)*in], c.col)
		kernels.Gemm(false, true, c.f, c.ckk, c.p, 1, dyi, c.p, c.col, c.p, 1, c.gw, c.ckk)
		if needDX {
			kernels.Gemm(true, false, c.ckk, c.p, c.f, 1, c.wt, c.ckk, dyi, c.p, 0, c.dcol, c.p)
			c.col2im(c.dcol, c.dx[i*in:(i+1)*in])
		}
	}
	if !needDX {
		return nil
	}
	return c.dx[:n*in]
}

// maxpool2d takes the maximum over K×K windows with stride S (no padding)
// of NCHW inputs; it records the argmax for the backward pass (the first
// maximum wins ties).
type maxpool2d struct {
	c, h, w, k, s, oh, ow int
	out                   []int
	y, dx                 []float32
	arg                   []int32
}

func newMaxPool(in []int, k, s int) *maxpool2d {
	m := &maxpool2d{c: in[0], h: in[1], w: in[2], k: k, s: s}
	m.oh = (m.h-k)/s + 1
	m.ow = (m.w-k)/s + 1
	m.out = []int{m.c, m.oh, m.ow}
	return m
}

func (m *maxpool2d) outShape() []int       { return m.out }
func (m *maxpool2d) params() []pinit       { return nil }
func (m *maxpool2d) bind(_, _ [][]float32) {}
func (m *maxpool2d) reserve(n int, needDX, train bool) {
	sz := n * m.c * m.oh * m.ow
	m.y = grow(m.y, sz)
	if cap(m.arg) < sz {
		m.arg = make([]int32, sz)
	}
	if needDX && train {
		m.dx = grow(m.dx, n*m.c*m.h*m.w)
	}
}

func (m *maxpool2d) forward(x []float32, n int, _ bool) []float32 {
	y := m.y[:n*m.c*m.oh*m.ow]
	kernels.MaxPool(x, y, m.arg[:len(y)], n*m.c, m.h, m.w, m.k, m.s)
	return y
}

func (m *maxpool2d) backward(dy []float32, n int, needDX bool) []float32 {
	if !needDX {
		return nil
	}
	dx := m.dx[:n*m.c*m.h*m.w]
	kernels.MaxPoolGrad(dy, dx, m.arg[:n*m.c*m.oh*m.ow])
	return dx
}
