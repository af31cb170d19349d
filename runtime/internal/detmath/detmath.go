// Package detmath holds the transcendental functions the training core
// needs (exp, log, tanh, sigmoid) written so they give bit-identical results
// on every platform.
//
// Why: the standard library's math.Exp and math.Log use assembly on amd64,
// arm64 and s390x and portable Go elsewhere (wasm), and the two differ in the
// last bit. The core promises that a model trained natively and the same
// model trained in the wasm core end bit-identical, so every function here is
// the portable algorithm (ported from Go's math package, BSD licence, itself
// from FreeBSD's msun), with explicit float64 conversions so that no compiler
// fuses a multiply-add on one platform and not another.
package detmath

import "math"

// Exp returns e**x, bit-identical on every GOARCH.
func Exp(x float64) float64 {
	const (
		ln2Hi     = 6.93147180369123816490e-01
		ln2Lo     = 1.90821492927058770002e-10
		log2e     = 1.44269504088896338700e+00
		overflow  = 7.09782712893383973096e+02
		underflow = -7.45133219101941108420e+02
		nearZero  = 1.0 / (1 << 28)
	)
	switch {
	case x != x:
		return x
	case x > overflow:
		return math.Inf(1)
	case x < underflow:
		return 0
	case -nearZero < x && x < nearZero:
		return 1 + x
	}
	var k int
	switch {
	case x < 0:
		k = int(float64(log2e*x) - 0.5)
	case x > 0:
		k = int(float64(log2e*x) + 0.5)
	}
	hi := x - float64(float64(k)*ln2Hi)
	lo := float64(k) * ln2Lo
	return expmulti(hi, lo, k)
}

func expmulti(hi, lo float64, k int) float64 {
	const (
		p1 = 1.66666666666666657415e-01
		p2 = -2.77777777770155933842e-03
		p3 = 6.61375632143793436117e-05
		p4 = -1.65339022054652515390e-06
		p5 = 4.13813679705723846039e-08
	)
	r := hi - lo
	t := float64(r * r)
	poly := p4 + float64(t*p5)
	poly = p3 + float64(t*poly)
	poly = p2 + float64(t*poly)
	poly = p1 + float64(t*poly)
	c := r - float64(t*poly)
	rc := float64(r * c)
	y := 1 - ((lo - rc/(2-c)) - hi)
	return math.Ldexp(y, k)
}

// Log returns the natural logarithm of x, bit-identical on every GOARCH.
func Log(x float64) float64 {
	const (
		ln2Hi = 6.93147180369123816490e-01
		ln2Lo = 1.90821492927058770002e-10
		l1    = 6.666666666666735130e-01
		l2    = 3.999999999940941908e-01
		l3    = 2.857142874366239149e-01
		l4    = 2.222219843214978396e-01
		l5    = 1.818357216161805012e-01
		l6    = 1.531383769920937332e-01
		l7    = 1.479819860511658591e-01
	)
	switch {
	case x != x || math.IsInf(x, 1):
		return x
	case x < 0:
		return math.NaN()
	case x == 0:
		return math.Inf(-1)
	}
	f1, ki := math.Frexp(x)
	if f1 < math.Sqrt2/2 {
		f1 *= 2
		ki--
	}
	f := f1 - 1
	k := float64(ki)
	s := f / (2 + f)
	s2 := float64(s * s)
	s4 := float64(s2 * s2)
	t1 := float64(s2 * (l1 + float64(s4*(l3+float64(s4*(l5+float64(s4*l7)))))))
	t2 := float64(s4 * (l2 + float64(s4*(l4+float64(s4*l6)))))
	r := t1 + t2
	hfsq := float64(float64(0.5*f) * f)
	return float64(k*ln2Hi) - ((hfsq - (float64(s*(hfsq+r)) + float64(k*ln2Lo))) - f)
}

// Tanh returns the hyperbolic tangent of x in float32 precision.
func Tanh(x float32) float32 {
	switch {
	case x > 20:
		return 1
	case x < -20:
		return -1
	}
	e := Exp(float64(2 * float64(x)))
	return float32((e - 1) / (e + 1))
}

// Sigmoid returns 1/(1+e^-x) in float32 precision.
func Sigmoid(x float32) float32 {
	return float32(1 / (1 + Exp(-float64(x))))
}
