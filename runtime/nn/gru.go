package nn

import (
	"math"

	"github.com/murmur-fl/murmur/runtime/kernels"
)

// gru is a single-layer GRU over [T, E] inputs with PyTorch's equations and
// parameter layout (gate order r, z, n), starting from a zero state:
//
//	r = σ(W_ir x + b_ir + W_hr h + b_hr)
//	z = σ(W_iz x + b_iz + W_hz h + b_hz)
//	n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//	h' = (1 − z) ⊙ n + z ⊙ h
//
// The input projections of all time steps are one GEMM; each step then
// needs one N×3H×H GEMM. Rows of the batch-major [N, T, ·] buffers for a
// fixed t are addressed with a leading dimension of T*width, so nothing is
// transposed or copied. Output is every state [T, H], or the last [H].
// Products that feed an addition are wrapped in float32(...) so the
// compiler cannot fuse them into FMAs (see runtime/optim).
type gru struct {
	t, e, h                int
	last                   bool
	out                    []int
	wih, whh, bih, bhh     []float32
	gwih, gwhh, gbih, gbhh []float32
	x                      []float32
	gi, hs, r, z, nn, hn   []float32 // saved for backward
	gh, y                  []float32
	lastRows               []int32 // rows of hs holding each example's last step
	dgi, dgh, dh, dhp, dx  []float32
}

func newGRU(t, e, h int, last bool) *gru {
	g := &gru{t: t, e: e, h: h, last: last, out: []int{t, h}}
	if last {
		g.out = []int{h}
	}
	return g
}

func (g *gru) outShape() []int { return g.out }
func (g *gru) params() []pinit {
	k := uniformInit(float32(1 / math.Sqrt(float64(g.h))))
	return []pinit{
		{"weight_ih", []int{3 * g.h, g.e}, k},
		{"weight_hh", []int{3 * g.h, g.h}, k},
		{"bias_ih", []int{3 * g.h}, k},
		{"bias_hh", []int{3 * g.h}, k},
	}
}
func (g *gru) bind(p, gr [][]float32) {
	g.wih, g.whh, g.bih, g.bhh = p[0], p[1], p[2], p[3]
	g.gwih, g.gwhh, g.gbih, g.gbhh = gr[0], gr[1], gr[2], gr[3]
}
func (g *gru) reserve(n int, needDX, train bool) {
	nth := n * g.t * g.h
	g.gi = grow(g.gi, 3*nth)
	g.hs = grow(g.hs, nth)
	g.r = grow(g.r, nth)
	g.z = grow(g.z, nth)
	g.nn = grow(g.nn, nth)
	g.hn = grow(g.hn, nth)
	g.gh = grow(g.gh, 3*n*g.h)
	if g.last {
		g.y = grow(g.y, n*g.h)
		if len(g.lastRows) < n {
			g.lastRows = make([]int32, n)
			for i := range g.lastRows {
				g.lastRows[i] = int32(i*g.t + g.t - 1)
			}
		}
	}
	if !train {
		return
	}
	g.dgi = grow(g.dgi, 3*nth)
	g.dgh = grow(g.dgh, 3*n*g.h)
	g.dh = grow(g.dh, n*g.h)
	g.dhp = grow(g.dhp, n*g.h)
	if needDX {
		g.dx = grow(g.dx, n*g.t*g.e)
	}
}

func (g *gru) forward(x []float32, n int, _ bool) []float32 {
	T, E, H, H3 := g.t, g.e, g.h, 3*g.h
	rows := n * T
	g.x = x[:rows*E]
	gi := g.gi[:rows*H3]
	kernels.BiasFill(gi, g.bih, rows, 1)
	kernels.Gemm(false, true, rows, H3, E, 1, g.x, E, g.wih, E, 1, gi, H3)
	gh := g.gh[:n*H3]
	st := kernels.GRUStep{N: n, Len: T, H: H, GI: gi, GH: gh, HS: g.hs, R: g.r, Z: g.z, NN: g.nn, HN: g.hn}
	for t := 0; t < T; t++ {
		kernels.BiasFill(gh, g.bhh, n, 1)
		if t > 0 {
			kernels.Gemm(false, true, n, H3, H, 1, g.hs[(t-1)*H:], T*H, g.whh, H, 1, gh, H3)
		}
		st.T = t
		kernels.GRUForward(st)
	}
	if !g.last {
		return g.hs[:rows*H]
	}
	// Gathered by a kernel: guest code never touches kernel buffers during
	// a step (a host may still be computing them: wasm/core/hostaccel).
	y := g.y[:n*H]
	kernels.EmbedGather(g.hs[:rows*H], y, g.lastRows[:n], H)
	return y
}

func (g *gru) backward(dy []float32, n int, needDX bool) []float32 {
	T, E, H, H3 := g.t, g.e, g.h, 3*g.h
	rows := n * T
	dgi := g.dgi[:rows*H3]
	dgh := g.dgh[:n*H3]
	dh, dhp := g.dh[:n*H], g.dhp[:n*H]
	kernels.Zero(dh)
	st := kernels.GRUStep{N: n, Len: T, H: H, LastOnly: g.last, HS: g.hs, R: g.r, Z: g.z, NN: g.nn, HN: g.hn,
		DY: dy, DGI: dgi, DGH: dgh}
	for t := T - 1; t >= 0; t-- {
		st.T, st.DH, st.DHP = t, dh, dhp
		kernels.GRUBackward(st)
		kernels.BiasGrad(g.gbhh, dgh, n, 1)
		if t > 0 {
			hprev := g.hs[(t-1)*H:]
			kernels.Gemm(true, false, H3, H, n, 1, dgh, H3, hprev, T*H, 1, g.gwhh, H)
			kernels.Gemm(false, false, n, H, H3, 1, dgh, H3, g.whh, H, 1, dhp, H)
		}
		dh, dhp = dhp, dh
	}
	kernels.Gemm(true, false, H3, E, rows, 1, dgi, H3, g.x, E, 1, g.gwih, E)
	kernels.BiasGrad(g.gbih, dgi, rows, 1)
	if !needDX {
		return nil
	}
	dx := g.dx[:rows*E]
	kernels.Gemm(false, false, rows, E, H3, 1, dgi, H3, g.wih, E, 0, dx, E)
	return dx
}
