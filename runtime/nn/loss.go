package nn

import "github.com/murmur-fl/murmur/runtime/tensor"

// xentGrad computes softmax cross-entropy over each row of logits (rows of
// c values, one label each; label -1 skips the row) and writes the
// gradient of the mean loss w.r.t. the logits into dl. It returns the mean.
func xentGrad(logits []float32, labels []int32, c int, dl []float32) float32 {
	var sum float64
	count := 0
	for _, l := range labels {
		if l >= 0 {
			count++
		}
	}
	if count == 0 {
		clear(dl)
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

// xentEval scores rows of logits against labels (-1 skips a row).
func xentEval(logits []float32, labels []int32, c int) Eval {
	var e Eval
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
		e.Loss += float64(tensor.Log(s) + mx - zl)
		e.Count++
		if above == 0 {
			e.Top1++
		}
		if above < 3 {
			e.Top3++
		}
	}
	return e
}
