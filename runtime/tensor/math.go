package tensor

import "math"

// The functions below are accurate to about 1 ulp of float32 and use only
// float64 +, -, *, / with explicit rounding (float64(...) conversions stop
// the compiler from fusing multiply-adds), plus exact bit manipulation, so
// their results are the same on every GOARCH.

const (
	log2e = 1.44269504088896340735992468100189214
	ln2hi = 6.93147180369123816490e-01 // high bits of ln 2; k*ln2hi is exact
	ln2lo = 1.90821492927058770002e-10 // ln 2 - ln2hi
	ln2   = 0.693147180559945309417232121458176568
)

// Exp returns e**x in float32.
func Exp(x float32) float32 { return float32(exp64(float64(x))) }

// exp64 is e**x with a relative error below 1e-8 (plenty for float32
// results). k = round(x/ln2) uses the 1.5*2^52 trick instead of
// math.Floor (a call into assembly on amd64), then e**r for |r| <= ln2/2
// is a degree-7 Taylor polynomial (remainder < 6e-9).
func exp64(x float64) float64 {
	if !(x > -708 && x < 709) {
		switch {
		case x != x: // NaN
			return x
		case x >= 709:
			return math.Inf(1)
		default:
			return 0
		}
	}
	const magic = 6755399441055744.0 // 1.5 * 2^52: adding it rounds to an integer
	t := float64(x*log2e) + magic
	k := int64(math.Float64bits(t) - math.Float64bits(magic))
	kf := t - magic
	r := float64(x-float64(kf*ln2hi)) - float64(kf*ln2lo)
	p := 1.0 / 5040
	p = float64(p*r) + 1.0/720
	p = float64(p*r) + 1.0/120
	p = float64(p*r) + 1.0/24
	p = float64(p*r) + 1.0/6
	p = float64(p*r) + 0.5
	p = float64(p*r) + 1
	p = float64(p*r) + 1
	return p * math.Float64frombits(uint64(k+1023)<<52)
}

// Log returns the natural logarithm of x in float32 (-Inf at 0, NaN below).
func Log(x float32) float32 {
	switch {
	case x != x || x < 0:
		return float32(math.NaN())
	case x == 0:
		return float32(math.Inf(-1))
	case math.IsInf(float64(x), 1):
		return x
	}
	return float32(log64(float64(x)))
}

// log64 is ln x for a positive, finite, normal float64 x.
func log64(x float64) float64 {
	b := math.Float64bits(x)
	e := int64(b>>52&0x7ff) - 1023
	m := math.Float64frombits(b&^(0x7ff<<52) | 1023<<52) // m in [1, 2)
	if m > math.Sqrt2 {
		m *= 0.5
		e++
	}
	// ln m = 2 atanh(s), s = (m-1)/(m+1), |s| <= 0.1716.
	s := (m - 1) / (m + 1)
	s2 := float64(s * s)
	p := 1.0 / 13
	p = float64(p*s2) + 1.0/11
	p = float64(p*s2) + 1.0/9
	p = float64(p*s2) + 1.0/7
	p = float64(p*s2) + 1.0/5
	p = float64(p*s2) + 1.0/3
	p = float64(p*s2) + 1
	return float64(float64(e)*ln2) + float64(2*float64(s*p))
}

// Tanh returns the hyperbolic tangent of x in float32.
func Tanh(x float32) float32 {
	if x > 10 {
		return 1
	}
	if x < -10 {
		return -1
	}
	if x > -0.01 && x < 0.01 { // avoid cancellation: tanh x = x - x^3/3 + 2x^5/15
		x64 := float64(x)
		x2 := float64(x64 * x64)
		return float32(float64(x64 * float64(1-float64(x2*float64(1.0/3-float64(x2*(2.0/15)))))))
	}
	e := exp64(float64(2 * float64(x)))
	return float32((e - 1) / (e + 1))
}

// Sigmoid returns 1/(1+e**-x) in float32.
func Sigmoid(x float32) float32 {
	return float32(1 / (1 + exp64(-float64(x))))
}
