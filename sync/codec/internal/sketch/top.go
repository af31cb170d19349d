package sketch

import (
	"math"
	mbits "math/bits"

	"github.com/murmur-fl/murmur/sync/codec/internal/topk"
)

// EstimateTop returns the indices (in increasing order) and the estimates
// of the k coordinates with the largest |median estimate| from table,
// ties broken by the lower index: exactly topk.Select over Estimate's
// output, without storing and rescanning all Dim estimates. est (Dim
// floats, or nil to allocate what is needed) is scratch: the fast path
// keeps its sample there, and when that path cannot prove its result it
// holds all the estimates (Estimate followed by topk.Select).
//
// The fast path estimates a sample first (the first topSample coordinates
// of every block), takes a threshold t that about 1.5k of all coordinates
// should reach, then estimates the rest and keeps only the coordinates
// with |estimate| >= t. When at least k are kept, the k-th largest
// magnitude is >= t, so no coordinate below t can be among the top k, and
// topk.Select over the kept ones (in index order) picks the same ones.
// Otherwise (or with a NaN or infinity in table, or t = 0) it falls back.
func (s *Sketch) EstimateTop(table []float32, k int, est []float32) ([]uint32, []float32) {
	if idx, val, ok := s.estimateTop(table, k, est); ok {
		return idx, val
	}
	if len(est) < s.Dim {
		est = make([]float32, s.Dim)
	}
	est = est[:s.Dim]
	s.Estimate(est, table)
	idx := topk.Select(nil, est, k)
	val := make([]float32, len(idx))
	for j, i := range idx {
		val[j] = est[i]
	}
	return idx, val
}

// estimateTop is EstimateTop's fast path; ok is false where it cannot
// prove its result. The sample goes to est when it has room.
func (s *Sketch) estimateTop(table []float32, k int, est []float32) (idx []uint32, val []float32, ok bool) {
	d := s.Dim
	if k <= 0 || k*16 > d || d < 16*estBlk {
		return nil, nil, false
	}
	// Only finite counters: with an infinity, an even row count's mean of
	// the middle two can be NaN, which the selection does not order.
	for _, v := range table[:s.Len()] {
		if math.Float32bits(v)&0x7F800000 == 0x7F800000 {
			return nil, nil, false
		}
	}
	// The sample: every stride-th block (whole blocks: the same cost per
	// coordinate as the rest).
	blocks := (d + estBlk - 1) / estBlk
	stride := 8
	if blocks < 128 {
		stride = 4
	}
	sample := est[:0]
	if need := (blocks + stride - 1) / stride * estBlk; cap(sample) < need {
		sample = make([]float32, 0, need)
	}
	e := s.newEstScratch(0)
	for o := 0; o < d; o += stride * estBlk {
		n := min(estBlk, d-o)
		sample = sample[:len(sample)+n]
		s.estRange(sample[len(sample)-n:], table, o, e)
		s.skip(e, (stride-1)*estBlk)
	}
	ns := len(sample)
	// t: the m-th largest magnitude of (up to) thresholdSample values
	// spread over the sample.
	step := max(1, ns/thresholdSample)
	mags := make([]float32, 0, ns/step+1)
	for j := 0; j < ns; j += step {
		mags = append(mags, topk.Abs(sample[j]))
	}
	m := int(math.Ceil(1.5*float64(k)*float64(len(mags))/float64(d))) + 16
	if m >= len(mags) {
		return nil, nil, false
	}
	t := topk.Kth(mags, len(mags)-m)
	if !(t > 0) {
		return nil, nil, false
	}
	// The rest, keeping what reaches t (and the sample's, in order).
	idx = make([]uint32, 0, 2*k)
	val = make([]float32, 0, 2*k)
	buf := make([]float32, estBlk)
	mask := make([]uint64, estBlk/64)
	e = s.newEstScratch(0)
	for b, o := 0, 0; o < d; b, o = b+1, o+estBlk {
		n := min(estBlk, d-o)
		var out []float32
		if b%stride == 0 {
			j := b / stride * estBlk
			out = sample[j : j+n]
			s.skip(e, n)
		} else {
			out = buf[:n]
			s.estRange(out, table, o, e)
		}
		idx, val = appendPassing(idx, val, out, mask, o, t)
	}
	if len(idx) < k {
		return nil, nil, false
	}
	sel := topk.Select(nil, val, k)
	for j, p := range sel {
		idx[j] = idx[p]
		val[j] = val[p]
	}
	return idx[:k], val[:k], true
}

// appendPassing appends o+j and v to idx and val for each v = a[j] with
// |v| >= t, in order (mask: len(a)/64 words of scratch).
func appendPassing(idx []uint32, val []float32, a []float32, mask []uint64, o int, t float32) ([]uint32, []float32) {
	k := 0
	if useAVX2 && len(a) >= 64 {
		// One mask bit per value from the kernel; the loop only visits
		// the passing ones (about 2% of them).
		k = len(a) &^ 63
		passMaskAVX2(&mask[0], &a[0], k, t)
		for w, bits := range mask[:k/64] {
			for bits != 0 {
				j := 64*w + mbits.TrailingZeros64(bits)
				idx = append(idx, uint32(o+j))
				val = append(val, a[j])
				bits &= bits - 1
			}
		}
	}
	for j := k; j < len(a); j++ {
		if topk.Abs(a[j]) >= t {
			idx = append(idx, uint32(o+j))
			val = append(val, a[j])
		}
	}
	return idx, val
}

// thresholdSample is how many sampled estimates set EstimateTop's
// threshold.
const thresholdSample = 4096
