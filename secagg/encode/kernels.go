package encode

import (
	"math"
	"math/bits"
)

// Dispatch between the AVX2 kernels (kernels_amd64.s, when useAVX2) and
// their Go twins below. The twins are the reference: the kernels must give
// the same bits (kernels_test.go compares them element by element), so the
// bytes an encoder writes never depend on the machine.

// wyInc is the counter increment of version 2's rounding stream.
const wyInc uint64 = 0xa0761d6478bd642f

// qconst is quantF*AVX2's constants (layout used by the assembly).
type qconst struct {
	mul, inv, m, twoM float64
	mask, mInt, c4    uint64
}

// dconst is decodeF*AVX2's constants (layout used by the assembly).
type dconst struct {
	mask, sb, bias uint64
	magic          float64
	step, w        float64
}

// magic is 1.5·2^52: adding an integer |v| < 2^51 to its bits gives the
// float64 magic+v exactly, and subtracting magic leaves float64(v).
const magic = 0x1.8p52

// sumSquares4 is version 2's sum of squares (see sumSquares): four partial
// sums of i mod 4, added as (s0+s1)+(s2+s3), and the index of the first
// non-finite value or -1.
func sumSquares4(x []float32) (float64, int) {
	if !useAVX2 || len(x) < 4 {
		return sumSquaresGo(x, 2)
	}
	var s [4]float64
	n := len(x) &^ 3
	sumSquaresAVX2(&x[0], n, &s)
	s0 := s[0]
	for _, v := range x[n:] {
		f := float64(v)
		s0 += float64(f * f)
	}
	sum := (s0 + s[1]) + (s[2] + s[3])
	// Squares of finite float32 values cannot overflow a float64 sum of
	// 2^30 terms, and none is negative: the sum is finite exactly when
	// every input is.
	if sum-sum != 0 {
		for j, v := range x {
			if v-v != 0 {
				return 0, j
			}
		}
	}
	return sum, -1
}

// quantizeCounter is version 2's step 5 and 6 for y_i = float64(src[i]·mul),
// with the counter-based stream of key (see the package doc).
func quantizeCounter[F float32 | float64](dst []uint64, src []F, mul float64, key uint64, q quantizer) {
	src = src[:len(dst)]
	// The kernel converts t <= 2M to int32: M < 2^30 (Bits <= 31).
	if useAVX2 && q.m < 1<<30 && len(dst) >= 8 {
		n := len(dst) &^ 7
		inc := wyInc // a variable: its multiples wrap mod 2^64
		c := qconst{mul: mul, inv: q.inv, m: q.m, twoM: 2 * q.m, mask: q.mask, mInt: uint64(int64(q.m)), c4: 4 * inc}
		st := [4]uint64{key + inc, key + 2*inc, key + 3*inc, key + 4*inc}
		switch s := any(src).(type) {
		case []float32:
			quantF32AVX2(&dst[0], &s[0], n, &st, &c)
		case []float64:
			quantF64AVX2(&dst[0], &s[0], n, &st, &c)
		}
		dst, src = dst[n:], src[n:]
		key += uint64(n/2) * inc
	}
	quantizeCounterGo(dst, src, mul, key, q)
}

// quantizeCounterGo is quantizeCounter's Go loop.
func quantizeCounterGo[F float32 | float64](dst []uint64, src []F, mul float64, key uint64, q quantizer) {
	src = src[:len(dst)]
	n := len(src) &^ 1
	s := key
	for i := 0; i < n; i += 2 {
		s += wyInc
		hi, lo := bits.Mul64(s, s^0xe7037ed1a0b428db)
		r := hi ^ lo
		dst[i] = q.one(float64(float64(src[i])*mul), uint32(r))
		dst[i+1] = q.one(float64(float64(src[i+1])*mul), uint32(r>>32))
	}
	if n < len(src) {
		s += wyInc
		hi, lo := bits.Mul64(s, s^0xe7037ed1a0b428db)
		dst[n] = q.one(float64(float64(src[n])*mul), uint32(hi^lo))
	}
}

// decodeValues sets out[i] = float32(float64(float64(v_i)·step)·w), v_i
// the signed value of the low bits bits of sum[i].
func decodeValues(out []float32, sum []uint64, bits int, step, w float64) {
	sum = sum[:len(out)]
	if useAVX2 && bits <= 52 && len(out) >= 4 {
		n := len(out) &^ 3
		c := newDconst(bits, step, w)
		decodeF32AVX2(&out[0], &sum[0], n, &c)
		out, sum = out[n:], sum[n:]
	}
	decodeValuesGo(out, sum, bits, step, w)
}

func decodeValuesGo(out []float32, sum []uint64, bits int, step, w float64) {
	sum = sum[:len(out)]
	// Sign-extend the B-bit values by shifting them to the top and back
	// (arithmetic shift): no branch, whatever the sign.
	sh := uint(64 - bits)
	for i := range out {
		z := float64(float64(int64(sum[i]<<sh)>>sh) * step)
		out[i] = float32(z * w)
	}
}

// decodeSteps sets z[i] = float64(float64(v_i)·step).
func decodeSteps(z []float64, sum []uint64, bits int, step float64) {
	sum = sum[:len(z)]
	if useAVX2 && bits <= 52 && len(z) >= 4 {
		n := len(z) &^ 3
		c := newDconst(bits, step, 1)
		decodeF64AVX2(&z[0], &sum[0], n, &c)
		z, sum = z[n:], sum[n:]
	}
	decodeStepsGo(z, sum, bits, step)
}

func decodeStepsGo(z []float64, sum []uint64, bits int, step float64) {
	sum = sum[:len(z)]
	sh := uint(64 - bits)
	for i := range z {
		z[i] = float64(float64(int64(sum[i]<<sh)>>sh) * step)
	}
}

func newDconst(bits int, step, w float64) dconst {
	sb := uint64(1) << uint(bits-1)
	return dconst{mask: modMask(bits), sb: sb, bias: 0x4338000000000000 - sb, magic: magic, step: step, w: w}
}

// fwhtPasses applies the levels h, 2h, ... below len(a) for h >= 4 (a
// multiple of 4): radix-4 passes, then one radix-2 pass if a level is
// left. The kernels do the butterflies four j at a time, the same
// operations as the Go loops of fwhtLevels.
func fwhtPasses(a []float64, h int) bool {
	if !useAVX2 || h < 4 || 2*h > len(a) {
		return false
	}
	n := len(a)
	for ; 8*h <= n; h *= 8 {
		fwhtRadix8AVX2(&a[0], n, h)
	}
	if 4*h <= n {
		fwhtRadix4AVX2(&a[0], n, h)
	} else if 2*h <= n {
		fwhtRadix2AVX2(&a[0], n, h)
	}
	return true
}

// cvtScale sets y[i] = float64(float64(x[i])·c).
func cvtScale(y []float64, x []float32, c float64) {
	y = y[:len(x)]
	if useAVX2 && len(x) >= 4 {
		n := len(x) &^ 3
		cvtScaleAVX2(&y[0], &x[0], n, c)
		y, x = y[n:], x[n:]
	}
	for i, v := range x {
		y[i] = float64(float64(v) * c)
	}
}

// toF32 sets out[i] = float32(z[i]·c).
func toF32(out []float32, z []float64, c float64) {
	z = z[:len(out)]
	if useAVX2 && len(out) >= 4 {
		n := len(out) &^ 3
		toF32AVX2(&out[0], &z[0], n, c)
		out, z = out[n:], z[n:]
	}
	for i := range out {
		out[i] = float32(z[i] * c)
	}
}

// encodeRotated is version 2's rotation and quantization with the AVX2
// kernels (signBits set): the operations of Encode's Go path, in fewer
// passes over memory. Window 1 (y[0:K]) is computed from x directly
// (float64(x·scale), sign, FWHT); each window's final ·(1/sqrt(K)) is
// left to the quantizer's multiply (float64(y·inv), the same rounding),
// except on the overlap [d−K, K), which takes window 1's scale before
// window 2 rotates it.
func (e *Encoder) encodeRotated(dst []uint64, x []float32, scale float64, key uint64, q quantizer) {
	d, K := e.p.Dim, e.block
	bp := scratch(d)
	y := *bp
	inv := 1 / math.Sqrt(float64(K))
	fwhtBlocks(y[:K], x[:K], e.signBits[:K/8], scale)
	if d > K {
		cvtScale(y[K:], x[K:], scale)
		scaleRange(y[d-K:K], inv)
		fwhtBlocks(y[d-K:], nil, e.signBits[K/8:], 0)
	}
	quantizeCounter(dst, y, inv, key, q)
	pool.Put(bp)
}

// decodeRotated is DecodeSum's version 2 inverse rotation with the AVX2
// kernels: window 2 (when d > K), then window 1, whose signs, scale and
// float32 conversion are one pass.
func (e *Encoder) decodeRotated(out []float32, z []float64, sum []uint64) {
	d, K := e.p.Dim, e.block
	W := float64(e.p.MaxWeight)
	decodeSteps(z, sum, e.p.ModBits, e.step)
	inv := 1 / math.Sqrt(float64(K))
	if d > K {
		fwht(z[d-K:])
		scaleSignBitsAVX2(&z[d-K], &e.signBits[K/8], K, inv)
		toF32(out[K:], z[K:d], W)
	}
	fwht(z[:K])
	scaleSignBitsF32AVX2(&out[0], &z[0], &e.signBits[0], K, inv, W)
}

// scaleRange sets y[i] = float64(y[i]·c).
func scaleRange(y []float64, c float64) {
	if useAVX2 && len(y) >= 4 {
		n := len(y) &^ 3
		scaleAVX2(&y[0], n, c)
		y = y[n:]
	}
	for i := range y {
		y[i] = float64(y[i] * c)
	}
}

// fwhtBlocks sets a = H·diag(±1 from sb)·a (unnormalized; a = float64(x·c)
// first when x is not nil), len(a) a power of two >= 64: the sign (and
// the conversion) fused into the first pass of each L1 block. Only when
// useAVX2.
func fwhtBlocks(a []float64, x []float32, sb []byte, c float64) {
	n := len(a)
	b := min(n, fwhtBlock)
	for o := 0; o < n; o += b {
		if x != nil {
			fwht4CvtSignsAVX2(&a[o], &x[o], &sb[o/8], b, c)
		} else {
			fwht4SignBitsAVX2(&a[o], &sb[o/8], b)
		}
		fwhtPasses(a[o:o+b], 4)
	}
	fwhtPasses(a, b)
}

// packConst is packAVX2's constants for B bits (layout used by the
// assembly): the element mask, the shift counts of the pair and quad
// merges and of lane 1 (by s = 4B mod 8), the lane-0 qword mask, the
// shuffle that brings lane 0's byte 4B/8 to lane 1's byte 0, then B and
// 4B/8.
type packConst struct {
	mask, pair, quadLo, quadHi, keep, laneLo, laneHi [4]uint64
	fix                                              [32]byte
	bytes, half                                      int64
}

func newPackConst(bits int) *packConst {
	b := uint64(bits)
	s := uint64(4*bits) & 7
	m := modMask(bits)
	c := &packConst{
		mask:   [4]uint64{m, m, m, m},
		pair:   [4]uint64{0, b, 0, b},
		quadLo: [4]uint64{2 * b, 64, 2 * b, 64},
		quadHi: [4]uint64{64, 64 - 2*b, 64, 64 - 2*b},
		keep:   [4]uint64{^uint64(0), 0, ^uint64(0), 0},
		laneLo: [4]uint64{0, 0, s, s},
		laneHi: [4]uint64{64, 64, 64 - s, 64 - s},
		bytes:  int64(bits),
		half:   int64(4 * bits / 8),
	}
	for i := range c.fix {
		c.fix[i] = 0x80 // zero
	}
	if s != 0 { // B odd: lane 0 ends in the middle of byte 4B/8
		c.fix[16] = byte(4 * bits / 8)
	}
	return c
}

// packFast packs the first groups of 8 elements of v into out with the
// kernel, as many as it can without writing past out, and returns how many
// elements it packed (a multiple of 8, so the rest starts on a byte).
func packFast(out []byte, v []uint64, bits int) int {
	if !useAVX2 || bits > 32 {
		return 0
	}
	// Group g writes out[g·B : g·B + 4B/8 + 16].
	half := 4 * bits / 8
	if len(out) < half+16 {
		return 0
	}
	g := min(len(v)/8, (len(out)-half-16)/bits+1)
	if g <= 0 {
		return 0
	}
	packAVX2(&out[0], &v[0], g, newPackConst(bits))
	return 8 * g
}

// unpackConst is unpackAVX2's constants for B bits: for each bit phase
// p mod 8 of a quad's first element, the shuffle that moves each
// element's 8 bytes into its qword and the right shifts; then the mask
// and B.
type unpackConst struct {
	phase [8]struct {
		ctrl  [32]byte
		shift [4]uint64
	}
	mask, bits uint64
}

func newUnpackConst(bits int) *unpackConst {
	c := &unpackConst{mask: modMask(bits), bits: uint64(bits)}
	for ph := range 8 {
		e := &c.phase[ph]
		for lane := range 2 {
			p := ph // the lane's first element's bit phase
			if lane == 1 {
				p = (ph + 2*bits) & 7
			}
			o := (bits + p) >> 3 // byte of the lane's second element
			for k := range 8 {
				e.ctrl[16*lane+k] = byte(k)
				e.ctrl[16*lane+8+k] = byte(o + k)
			}
			e.shift[2*lane] = uint64(p)
			e.shift[2*lane+1] = uint64((bits + p) & 7)
		}
	}
	return c
}

// unpackFast unpacks (or adds) the first quads of 4 elements of src into
// dst with the kernel, as many as it can without reading past src, and
// returns how many elements it did.
func unpackFast(dst []uint64, src []byte, bits int, add bool) int {
	if !useAVX2 || bits > 56 || len(src) < 16 {
		return 0
	}
	// Quad j reads src[(4j+2)·B/8 : +16] (and from 4j·B/8, lower).
	last := len(src) - 16
	q := min(len(dst)/4, ((8*last+7)/bits+2)/4)
	for q > 0 && ((4*q-2)*bits)>>3 > last {
		q--
	}
	if q == 0 {
		return 0
	}
	c := newUnpackConst(bits)
	if add {
		unpackAddAVX2(&dst[0], &src[0], q, c)
	} else {
		unpackAVX2(&dst[0], &src[0], q, c)
	}
	return 4 * q
}
