package nn

import (
	"github.com/murmur-fl/murmur/runtime/kernels"
	"github.com/murmur-fl/murmur/runtime/tensor"
)

// embedding maps token ids to rows of a [vocab, dim] table. It is always the
// first layer; the model hands it the batch's tokens (validated to lie in
// [0, vocab)) before forward.
type embedding struct {
	t, vocab, dim int
	out           []int
	w, gw         []float32
	tokens        []int32
	y             []float32
}

func newEmbedding(t, vocab, dim int) *embedding {
	return &embedding{t: t, vocab: vocab, dim: dim, out: []int{t, dim}}
}

func (e *embedding) outShape() []int { return e.out }
func (e *embedding) params() []pinit {
	return []pinit{{"weight", []int{e.vocab, e.dim}, func(r *tensor.RNG, w []float32) { r.Uniform(w, -0.1, 0.1) }}}
}
func (e *embedding) bind(p, g [][]float32)    { e.w, e.gw = p[0], g[0] }
func (e *embedding) reserve(n int, _, _ bool) { e.y = grow(e.y, n*e.t*e.dim) }
func (e *embedding) forward(_ []float32, n int, _ bool) []float32 {
	y := e.y[:n*e.t*e.dim]
	kernels.EmbedGather(e.w, y, e.tokens[:n*e.t], e.dim)
	return y
}
func (e *embedding) backward(dy []float32, n int, _ bool) []float32 {
	kernels.EmbedGrad(e.gw, dy, e.tokens[:n*e.t], e.dim)
	return nil
}
