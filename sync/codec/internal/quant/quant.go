// Package quant holds the scalar number formats the codecs share: bfloat16,
// bucketed symmetric quantization (stochastic, QSGD-style, or round to
// nearest), and byte-plane shuffling that lets zstd see the redundant high
// bytes of floats.
package quant

import (
	"math"
	mbits "math/bits"
	"math/rand/v2"
)

// BF16 rounds f to bfloat16 (round to nearest even; NaN stays NaN).
func BF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 { // NaN: keep it quiet and non-zero
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// FromBF16 widens a bfloat16 to float32 exactly.
func FromBF16(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// Finite reports whether f is neither NaN nor ±Inf.
func Finite(f float32) bool { return math.Float32bits(f)&0x7f800000 != 0x7f800000 }

// Levels returns L, the number of non-zero levels on each side of zero for
// bits-bit codes: codes are 0..2L and decode to (code-L)/L * scale.
func Levels(bits int) int { return 1<<(bits-1) - 1 }

// Buckets returns how many buckets of size bucket cover n values.
func Buckets(n, bucket int) int { return (n + bucket - 1) / bucket }

// Quantize writes one code byte per value (bits in 2..8) into codes and one
// max-abs scale per bucket into scales. With rng non-nil, rounding is
// stochastic and unbiased (E[decode] = v, QSGD); with rng nil it is to the
// nearest level (deterministic, so a sender can reproduce what a receiver
// holds). Values must be finite.
func Quantize(codes []byte, scales []float32, v []float32, bits, bucket int, rng *rand.Rand) {
	L := float32(Levels(bits))
	top := int32(2 * Levels(bits))
	// Rounding randomness: wyrand seeded once per call from rng. It is
	// not cryptographic (rounding needs only uniformity) and, unlike a
	// Source interface call per value, it inlines.
	var wy uint64
	if rng != nil {
		wy = rng.Uint64()
	}
	for b := 0; b*bucket < len(v); b++ {
		lo, hi := b*bucket, min((b+1)*bucket, len(v))
		// Max |x| by the bits: for finite x, |x|'s bits order as |x|
		// does, and an integer max needs no NaN or signed-zero care.
		m := maxAbs(v[lo:hi])
		s := math.Float32frombits(m)
		scales[b] = s
		if s == 0 {
			for i := lo; i < hi; i++ {
				codes[i] = byte(L)
			}
			continue
		}
		k := L / s
		cs := codes[lo:hi]
		if rng == nil {
			nearestBucket(cs, v[lo:hi], k, L, top)
			continue
		}
		wy = roundBucket(cs, v[lo:hi], k, L, top, wy)
	}
}

// nearestBucket writes the round-to-nearest codes of v (scale factor
// k = L/max|v|), with the AVX2 kernel where it applies.
func nearestBucket(cs []byte, v []float32, k, L float32, top int32) {
	cs = cs[:len(v)]
	if useAVX2 && len(v) >= 8 && k <= math.MaxFloat32 {
		n := len(v) &^ 7
		c := roundConst{k: k, l: L, top: top}
		nearestAVX2(&cs[0], &v[0], n, &c)
		cs, v = cs[n:], v[n:]
	}
	nearestBucketGo(cs, v, k, L, top)
}

func nearestBucketGo(cs []byte, v []float32, k, L float32, top int32) {
	cs = cs[:len(v)]
	for i, x := range v {
		// x·k + L is in [0, 2L]: truncation is floor. The conversion
		// forbids a fused multiply-add, so every GOARCH picks the same
		// code.
		c := int32(float32(x*k) + L + 0.5)
		cs[i] = byte(min(max(c, 0), top))
	}
}

// roundBucket writes the stochastically rounded codes of v (scale factor
// k = L/max|v|) and returns the advanced wyrand state. Values are taken in
// pairs, one draw each (low 32 bits for the first, high for the second; an
// odd last value takes the low bits of a fresh draw). A separate small
// function, so the loop state stays in registers.
func roundBucket(cs []byte, v []float32, k, L float32, top int32, wy uint64) uint64 {
	cs = cs[:len(v)]
	// The kernel needs a finite k (a subnormal scale can make L/s
	// overflow; the Go loop then handles the bucket).
	if useAVX2 && len(v) >= 8 && k <= math.MaxFloat32 {
		n := len(v) &^ 7
		inc := uint64(wyInc) // a variable: its multiples wrap mod 2^64
		c := roundConst{
			st:   [4]uint64{wy + inc, wy + 2*inc, wy + 3*inc, wy + 4*inc},
			step: [4]uint64{4 * inc, 4 * inc, 4 * inc, 4 * inc},
			k:    k, l: L, top: top,
		}
		roundAVX2(&cs[0], &v[0], n, &c)
		wy += uint64(n/2) * inc
		cs, v = cs[n:], v[n:]
	}
	return roundBucketGo(cs, v, k, L, top, wy)
}

// wyInc is the wyrand counter increment.
const wyInc = 0xa0761d6478bd642f

// roundConst is roundAVX2's constants (layout used by the assembly).
type roundConst struct {
	st, step [4]uint64
	k, l     float32
	top      int32
}

// maxAbs is the largest bits(x)&0x7fffffff over v.
func maxAbs(v []float32) uint32 {
	var m uint32
	if useAVX2 && len(v) >= 8 {
		n := len(v) &^ 7
		m = maxAbsAVX2(&v[0], n)
		v = v[n:]
	}
	for _, x := range v {
		m = max(m, math.Float32bits(x)&0x7fffffff)
	}
	return m
}

// roundBucketGo is roundBucket's Go loop.
func roundBucketGo(cs []byte, v []float32, k, L float32, top int32, wy uint64) uint64 {
	cs = cs[:len(v)]
	n := len(v) &^ 1
	for i := 0; i < n; i += 2 {
		wy += 0xa0761d6478bd642f
		hi, lo := mbits.Mul64(wy, wy^0xe7037ed1a0b428db)
		r := hi ^ lo
		cs[i] = round1(v[i], k, L, top, uint32(r))
		cs[i+1] = round1(v[i+1], k, L, top, uint32(r>>32))
	}
	if n < len(v) {
		wy += 0xa0761d6478bd642f
		hi, lo := mbits.Mul64(wy, wy^0xe7037ed1a0b428db)
		cs[n] = round1(v[n], k, L, top, uint32(hi^lo))
	}
	return wy
}

// round1 rounds y = x·k + L up with probability y − floor(y), from the
// 32 random bits r: E[code] = y. The conversion forbids a fused
// multiply-add, so every GOARCH picks the same code.
func round1(x, k, L float32, top int32, r uint32) byte {
	y := float32(x*k) + L
	c := int32(y)
	// Branch-free: the outcome is a coin flip no predictor learns.
	var up int32
	if float32(r)*0x1p-32 < y-float32(c) {
		up = 1
	}
	return byte(min(max(c+up, 0), top))
}

// Dequantize inverts Quantize: out[i] = (codes[i]-L)/L * scale of its bucket.
// It reports the index of the first code above 2L, or -1.
func Dequantize(out []float32, codes []byte, scales []float32, bits, bucket int) int {
	L := Levels(bits)
	for b := 0; b*bucket < len(out); b++ {
		lo, hi := b*bucket, min((b+1)*bucket, len(out))
		k := scales[b] / float32(L)
		for i := lo; i < hi; i++ {
			c := int(codes[i])
			if c > 2*L {
				return i
			}
			out[i] = float32(c-L) * k
		}
	}
	return -1
}

// Shuffle writes the bytes of n w-byte little-endian words as w planes (all
// first bytes, then all second bytes, ...). Floats' sign/exponent bytes are
// highly redundant and compress well once grouped.
func Shuffle(dst, src []byte, w int) {
	n := len(src) / w
	switch w {
	case 2:
		p0, p1 := dst[:n], dst[n:2*n]
		for i := range p0 {
			p0[i], p1[i] = src[2*i], src[2*i+1]
		}
	case 4:
		p0, p1, p2, p3 := dst[:n], dst[n:2*n], dst[2*n:3*n], dst[3*n:4*n]
		for i := range p0 {
			s := src[4*i : 4*i+4]
			p0[i], p1[i], p2[i], p3[i] = s[0], s[1], s[2], s[3]
		}
	default:
		for i := 0; i < n; i++ {
			for j := 0; j < w; j++ {
				dst[j*n+i] = src[i*w+j]
			}
		}
	}
}

// Unshuffle inverts Shuffle.
func Unshuffle(dst, src []byte, w int) {
	n := len(src) / w
	switch w {
	case 2:
		p0, p1 := src[:n], src[n:2*n]
		for i := range p0 {
			dst[2*i], dst[2*i+1] = p0[i], p1[i]
		}
	case 4:
		p0, p1, p2, p3 := src[:n], src[n:2*n], src[2*n:3*n], src[3*n:4*n]
		for i := range p0 {
			d := dst[4*i : 4*i+4]
			d[0], d[1], d[2], d[3] = p0[i], p1[i], p2[i], p3[i]
		}
	default:
		for i := 0; i < n; i++ {
			for j := 0; j < w; j++ {
				dst[i*w+j] = src[j*n+i]
			}
		}
	}
}
