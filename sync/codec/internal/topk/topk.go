// Package topk selects the k largest-magnitude coordinates of a vector.
//
// A full selection over d values costs several passes; instead a random
// sample estimates a threshold that about 2k values pass, one linear pass
// collects those candidates, and an exact selection runs over the few
// candidates only (Deep Gradient Compression's sampled threshold). The result
// is the exact top-k (ties broken by lower index), whatever the sample says:
// if too few pass, it falls back to a full selection.
package topk

import (
	"math"
	mbits "math/bits"
	"slices"
)

const sampleSize = 4096

// Select appends to idx the indices of the k entries of a with the largest
// |a[i]|, in increasing index order, and returns it. a must not hold NaNs.
func Select(idx []uint32, a []float32, k int) []uint32 {
	d := len(a)
	if k <= 0 {
		return idx
	}
	if k >= d {
		for i := range a {
			idx = append(idx, uint32(i))
		}
		return idx
	}
	if d >= 8*sampleSize && k*16 <= d {
		if t, ok := sampledThreshold(a, k); ok {
			base := len(idx)
			idx = appendPassing(idx, a, t)
			if len(idx)-base >= k {
				return exact(idx, base, a, k)
			}
			idx = idx[:base]
		}
	}
	base := len(idx)
	for i := range a {
		idx = append(idx, uint32(i))
	}
	return exact(idx, base, a, k)
}

// appendPassing appends the indices i with |a[i]| >= t, in order.
func appendPassing(idx []uint32, a []float32, t float32) []uint32 {
	k := 0
	if useAVX2 && len(a) >= 8 {
		// One mask bit per value from the kernel; the loop only visits
		// the passing ones (about 2k of d).
		k = len(a) &^ 7
		m := make([]byte, k/8)
		passMaskAVX2(&m[0], &a[0], k, t)
		for b, bits := range m {
			for bits != 0 {
				idx = append(idx, uint32(8*b+mbits.TrailingZeros8(bits)))
				bits &= bits - 1
			}
		}
	}
	for i := k; i < len(a); i++ {
		if Abs(a[i]) >= t {
			idx = append(idx, uint32(i))
		}
	}
	return idx
}

// exact keeps the k largest-magnitude of the candidates idx[base:] (in
// increasing index order) and returns them, still in index order.
func exact(idx []uint32, base int, a []float32, k int) []uint32 {
	cand := idx[base:]
	if len(cand) == k {
		return idx
	}
	mags := make([]float32, len(cand))
	for i, j := range cand {
		mags[i] = Abs(a[j])
	}
	t := Kth(slices.Clone(mags), len(mags)-k) // k-th largest
	// Everything strictly above t, then ties at t by index until k.
	above := 0
	for _, m := range mags {
		if m > t {
			above++
		}
	}
	ties := k - above
	out := cand[:0]
	for i, j := range cand {
		if m := mags[i]; m > t || (m == t && ties > 0) {
			if m == t {
				ties--
			}
			out = append(out, j)
		}
	}
	return idx[:base+len(out)]
}

// sampledThreshold estimates a magnitude that about 2k of the d values reach.
func sampledThreshold(a []float32, k int) (float32, bool) {
	d := len(a)
	s := make([]float32, sampleSize)
	x := uint64(0x9E3779B97F4A7C15) ^ uint64(d)
	for i := range s {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		s[i] = Abs(a[(x>>32)*uint64(d)>>32])
	}
	want := int(math.Ceil(2 * float64(k) * sampleSize / float64(d))) // sample values above t
	if want < 8 {
		want = 8 // too few sampled: widen to keep the estimate stable
	}
	if want >= sampleSize {
		return 0, false
	}
	t := Kth(s, sampleSize-want)
	return t, t > 0
}

// Kth partially sorts v so v[n] is the value of rank n (0 = smallest) and
// returns it (Hoare quickselect with median-of-three).
func Kth(v []float32, n int) float32 {
	lo, hi := 0, len(v)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if v[mid] < v[lo] {
			v[mid], v[lo] = v[lo], v[mid]
		}
		if v[hi] < v[lo] {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[hi] < v[mid] {
			v[hi], v[mid] = v[mid], v[hi]
		}
		p := v[mid]
		i, j := lo, hi
		for i <= j {
			for v[i] < p {
				i++
			}
			for v[j] > p {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case n <= j:
			hi = j
		case n >= i:
			lo = i
		default:
			return v[n]
		}
	}
	return v[n]
}

// Abs is |x|, by clearing the sign bit.
func Abs(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }
