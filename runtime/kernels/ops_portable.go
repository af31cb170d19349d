package kernels

import (
	"math"

	"github.com/murmur-fl/murmur/runtime/data"
	"github.com/murmur-fl/murmur/runtime/tensor"
)

// The portable Ops. Every product that feeds an addition is wrapped in
// float32(...) so the compiler cannot fuse it into an FMA (Go may on arm64
// and on amd64 with GOAMD64=v3): results are the same bits on every GOARCH
// and in wasm. Elementary functions come from runtime/tensor for the same
// reason.

func biasFill(y, b []float32, outer, inner int) {
	c := len(b)
	if inner == 1 {
		for r := 0; r < outer; r++ {
			copy(y[r*c:(r+1)*c], b)
		}
		return
	}
	for o := 0; o < outer; o++ {
		for f, bv := range b {
			row := y[(o*c+f)*inner : (o*c+f+1)*inner]
			for j := range row {
				row[j] = bv
			}
		}
	}
}

func biasGrad(g, dy []float32, outer, inner int) {
	c := len(g)
	if inner == 1 {
		for r := 0; r < outer; r++ {
			row := dy[r*c : (r+1)*c]
			for j, v := range row {
				g[j] += v
			}
		}
		return
	}
	for o := 0; o < outer; o++ {
		for f := range g {
			var s float32
			for _, v := range dy[(o*c+f)*inner : (o*c+f+1)*inner] {
				s += v
			}
			g[f] += s
		}
	}
}

func act(kind Activation, x, y []float32) {
	y = y[:len(x)]
	switch kind {
	case ReLU:
		// Branchless (signs are random, so a branch mispredicts half the
		// time): clear the bits of every value whose sign bit is set.
		for i, v := range x {
			u := math.Float32bits(v)
			y[i] = math.Float32frombits(u &^ uint32(int32(u)>>31))
		}
	case Tanh:
		for i, v := range x {
			y[i] = tensor.Tanh(v)
		}
	case Sigmoid:
		for i, v := range x {
			y[i] = tensor.Sigmoid(v)
		}
	default:
		panic("unknown activation")
	}
}

func actGrad(kind Activation, y, dy, dx []float32) {
	dy = dy[:len(y)]
	dx = dx[:len(y)]
	switch kind {
	case ReLU:
		// y is +0 or has a clear sign bit, so -bits(y) is negative exactly
		// when y != 0: that sign, spread, masks the gradient.
		for i, v := range y {
			m := uint32(-int32(math.Float32bits(v)) >> 31)
			dx[i] = math.Float32frombits(math.Float32bits(dy[i]) & m)
		}
	case Tanh:
		for i, v := range y {
			dx[i] = dy[i] * (1 - float32(v*v))
		}
	case Sigmoid:
		for i, v := range y {
			dx[i] = dy[i] * v * (1 - v)
		}
	default:
		panic("unknown activation")
	}
}

func xentGrad(logits []float32, labels []int32, c int, dl []float32) float32 {
	var sum float64
	count := 0
	for _, l := range labels {
		if l >= 0 {
			count++
		}
	}
	if count == 0 {
		clear(dl[:len(labels)*c])
		return 0
	}
	inv := 1 / float32(count)
	for r, lab := range labels {
		z := logits[r*c : (r+1)*c]
		g := dl[r*c : (r+1)*c]
		if lab < 0 {
			clear(g)
			continue
		}
		mx := z[0]
		for _, v := range z[1:] {
			if v > mx {
				mx = v
			}
		}
		var s float32
		for j, v := range z {
			e := tensor.Exp(v - mx)
			g[j] = e
			s += e
		}
		sum += float64(tensor.Log(s) + mx - z[lab])
		k := inv / s
		for j := range g {
			g[j] *= k
		}
		g[lab] -= inv
	}
	return float32(sum / float64(count))
}

func xentEval(logits []float32, labels []int32, c int) (loss float64, count, top1, top3 int) {
	for r, lab := range labels {
		if lab < 0 {
			continue
		}
		z := logits[r*c : (r+1)*c]
		mx := z[0]
		for _, v := range z[1:] {
			if v > mx {
				mx = v
			}
		}
		var s float32
		above := 0
		zl := z[lab]
		for _, v := range z {
			s += tensor.Exp(v - mx)
			if v > zl {
				above++
			}
		}
		if zl != zl { // NaN logit: never counts as correct
			above = c
		}
		loss += float64(tensor.Log(s) + mx - zl)
		count++
		if above == 0 {
			top1++
		}
		if above < 3 {
			top3++
		}
	}
	return loss, count, top1, top3
}

func maxPool(x, y []float32, arg []int32, planes, h, w, k, s int) {
	if h < k || w < k || k < 1 || s < 1 {
		panic("maxpool: window larger than the image, or k, s < 1")
	}
	oh, ow := (h-k)/s+1, (w-k)/s+1
	hw := h * w
	y = y[:planes*oh*ow]
	arg = arg[:len(y)]
	if k == 2 && s == 2 {
		maxPool2x2(x[:planes*hw], y, arg, planes, h, w, oh, ow)
		return
	}
	o := 0
	for pl := 0; pl < planes; pl++ {
		img := x[pl*hw : (pl+1)*hw]
		for oi := 0; oi < oh; oi++ {
			for oj := 0; oj < ow; oj++ {
				i0, j0 := oi*s, oj*s
				best := i0*w + j0
				bv := img[best]
				for ki := 0; ki < k; ki++ {
					r := (i0 + ki) * w
					for kj := 0; kj < k; kj++ {
						if v := img[r+j0+kj]; v > bv {
							bv, best = v, r+j0+kj
						}
					}
				}
				y[o] = bv
				arg[o] = int32(pl*hw + best)
				o++
			}
		}
	}
}

// maxPool2x2 is maxPool for the common 2x2, stride-2 window, unrolled (the
// same tie rule: the first maximum in row-major window order wins).
func maxPool2x2(x, y []float32, arg []int32, planes, h, w, oh, ow int) {
	hw := h * w
	o := 0
	for pl := 0; pl < planes; pl++ {
		base := pl * hw
		for oi := 0; oi < oh; oi++ {
			r0 := x[base+2*oi*w : base+(2*oi+1)*w]
			r1 := x[base+(2*oi+1)*w : base+(2*oi+2)*w]
			yo := y[o : o+ow]
			ao := arg[o : o+ow]
			for oj := range yo {
				j := 2 * oj
				bv, bi := r0[j], base+2*oi*w+j
				if v := r0[j+1]; v > bv {
					bv, bi = v, bi+1
				}
				if v := r1[j]; v > bv {
					bv, bi = v, base+(2*oi+1)*w+j
				}
				if v := r1[j+1]; v > bv {
					bv, bi = v, base+(2*oi+1)*w+j+1
				}
				yo[oj], ao[oj] = bv, int32(bi)
			}
			o += ow
		}
	}
}

func maxPoolGrad(dy, dx []float32, arg []int32) {
	clear(dx)
	dy = dy[:len(arg)]
	for o, a := range arg {
		dx[a] += dy[o]
	}
}

func embedGather(table, y []float32, tokens []int32, dim int) {
	for i, tok := range tokens {
		copy(y[i*dim:(i+1)*dim], table[int(tok)*dim:(int(tok)+1)*dim])
	}
}

// rngs recycles the generators permute hands to data.Shuffle, through
// whose interface parameter they escape: an epoch must not allocate.
var rngs pool[tensor.RNG]

// permute fills order with 0..len-1 shuffled by the generator in state
// state, and returns the state after.
func permute(order []int32, state uint64) uint64 {
	for i := range order {
		order[i] = int32(i)
	}
	rng := rngs.get()
	rng.SetState(state)
	data.Shuffle(order, rng)
	state = rng.State()
	rngs.put(rng)
	return state
}

// dropout is OpDropout: the loop of runtime/nn's dropout layer, draw for
// draw.
func dropout(x, y, mask []float32, rate float32, state uint64) {
	var rng tensor.RNG
	rng.SetState(state)
	keep := 1 / (1 - rate)
	y, mask = y[:len(x)], mask[:len(x)]
	for i, v := range x {
		m := float32(0)
		if rng.Float32() >= rate {
			m = keep
		}
		mask[i] = m
		y[i] = v * m
	}
}

// allFinite reports whether no value of v is NaN or infinite.
func allFinite(v []float32) bool {
	for _, x := range v {
		if x-x != 0 {
			return false
		}
	}
	return true
}

func mul(x, y, z []float32) {
	y, z = y[:len(x)], z[:len(x)]
	for i, v := range x {
		z[i] = v * y[i]
	}
}

func embedGrad(gw, dy []float32, tokens []int32, dim int) {
	for i, tok := range tokens {
		g := gw[int(tok)*dim : (int(tok)+1)*dim]
		for j, v := range dy[i*dim : (i+1)*dim] {
			g[j] += v
		}
	}
}

func gruForward(s GRUStep) {
	T, H, H3, t := s.Len, s.H, 3*s.H, s.T
	if t < 0 || t >= T {
		panic("gru: step outside the sequence")
	}
	for i := 0; i < s.N; i++ {
		o := (i*T + t) * H
		gir := s.GI[(i*T+t)*H3 : (i*T+t+1)*H3]
		ghr := s.GH[i*H3 : (i+1)*H3]
		r, z, nv, hn, hs := s.R[o:o+H], s.Z[o:o+H], s.NN[o:o+H], s.HN[o:o+H], s.HS[o:o+H]
		var hp []float32
		if t > 0 {
			hp = s.HS[o-H : o]
		}
		for j := 0; j < H; j++ {
			rj := tensor.Sigmoid(gir[j] + ghr[j])
			zj := tensor.Sigmoid(gir[H+j] + ghr[H+j])
			hnj := ghr[2*H+j]
			nj := tensor.Tanh(gir[2*H+j] + float32(rj*hnj))
			var hpj float32
			if hp != nil {
				hpj = hp[j]
			}
			r[j], z[j], hn[j], nv[j] = rj, zj, hnj, nj
			hs[j] = float32((1-zj)*nj) + float32(zj*hpj)
		}
	}
}

func gruBackward(s GRUStep) {
	T, H, H3, t := s.Len, s.H, 3*s.H, s.T
	if t < 0 || t >= T {
		panic("gru: step outside the sequence")
	}
	for i := 0; i < s.N; i++ {
		o := (i*T + t) * H
		r, z, nv, hn := s.R[o:o+H], s.Z[o:o+H], s.NN[o:o+H], s.HN[o:o+H]
		dhi := s.DH[i*H : (i+1)*H]
		var dyi []float32
		switch {
		case len(s.DY) == 0:
		case !s.LastOnly:
			dyi = s.DY[o : o+H]
		case t == T-1:
			dyi = s.DY[i*H : (i+1)*H]
		}
		var hp []float32
		if t > 0 {
			hp = s.HS[o-H : o]
		}
		dgir := s.DGI[(i*T+t)*H3 : (i*T+t+1)*H3]
		dghr := s.DGH[i*H3 : (i+1)*H3]
		dhpi := s.DHP[i*H : (i+1)*H]
		for j := 0; j < H; j++ {
			d := dhi[j]
			if dyi != nil {
				d += dyi[j]
			}
			var hpj float32
			if hp != nil {
				hpj = hp[j]
			}
			zj, nj, rj := z[j], nv[j], r[j]
			dn := d * (1 - zj)
			dz := d * (hpj - nj)
			dnp := dn * (1 - float32(nj*nj))
			drp := dnp * hn[j] * rj * (1 - rj)
			dzp := dz * zj * (1 - zj)
			dgir[j], dgir[H+j], dgir[2*H+j] = drp, dzp, dnp
			dghr[j], dghr[H+j], dghr[2*H+j] = drp, dzp, dnp*rj
			dhpi[j] = d * zj
		}
	}
}

func optimStep(kind OptimKind, params, grads, state, center []float32, h OptimHyper) {
	n := len(params)
	grads = grads[:n]
	if cn := h.ClipNorm; cn > 0 {
		var ss float64
		for _, g := range grads {
			ss += float64(g) * float64(g)
		}
		if norm := math.Sqrt(ss); norm > float64(cn) {
			k := float32(float64(cn) / norm)
			for i := range grads {
				grads[i] *= k
			}
		}
	}
	if wd := h.WeightDecay; wd > 0 {
		for i, w := range params {
			grads[i] += float32(wd * w)
		}
	}
	if mu := h.ProxMu; mu > 0 && len(center) > 0 {
		ctr := center[:n]
		for i, w := range params {
			grads[i] += float32(mu * (w - ctr[i]))
		}
	}
	lr := h.LR
	switch kind {
	case Adam:
		m, v := state[:n:n], state[n:2*n:2*n]
		b1, b2 := h.Momentum, h.Beta2
		step, eps := lr, h.Eps
		for i := range params {
			gi := grads[i]
			mi := float32(b1*m[i]) + float32((1-b1)*gi)
			vi := float32(b2*v[i]) + float32((1-b2)*gi*gi)
			m[i], v[i] = mi, vi
			params[i] -= float32(step * mi / (float32(math.Sqrt(float64(vi))) + eps))
		}
	case SGDMomentum:
		v := state[:n]
		mom := h.Momentum
		for i := range params {
			vi := float32(mom*v[i]) + grads[i]
			v[i] = vi
			params[i] -= float32(lr * vi)
		}
	case SGD:
		for i := range params {
			params[i] -= float32(lr * grads[i])
		}
	default:
		panic("unknown optimizer kind")
	}
}

func rangeCheck(v []int32, lo, hi int64) int {
	for i, x := range v {
		if int64(x) < lo || int64(x) >= hi {
			return i
		}
	}
	return -1
}
