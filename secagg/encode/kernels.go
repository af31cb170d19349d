package encode

import "math/bits"

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
	for ; 4*h <= n; h *= 4 {
		fwhtRadix4AVX2(&a[0], n, h)
	}
	if 2*h <= n {
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

// fwhtSigns sets a = H·diag(signs)·a (unnormalized), len(a) a power of
// two >= 8, with the AVX2 kernels: the sign multiply is fused into the
// first pass of each L1 block. Only when useAVX2.
func fwhtSigns(a, signs []float64) {
	n := len(a)
	b := min(n, fwhtBlock)
	for o := 0; o < n; o += b {
		fwht4SignsAVX2(&a[o], &signs[o], b)
		fwhtPasses(a[o:o+b], 4)
	}
	fwhtPasses(a, b)
}
