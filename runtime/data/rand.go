package data

import (
	"math"
	"math/bits"

	"github.com/murmur-fl/murmur/runtime/data/internal/detmath"
)

// Source is the randomness this package consumes. Any seeded generator with
// this method works (runtime/tensor's, math/rand/v2's PCG, or NewRand); the
// package only does integer arithmetic and portable float math on its
// output, so a given Source sequence yields the same batches and partitions
// on every GOARCH, wasm included.
type Source interface {
	Uint64() uint64
}

// Rand is a small SplitMix64 generator: one word of state, passes BigCrush,
// and is trivially reproducible in other languages. It is not for secrets.
type Rand struct{ state uint64 }

// NewRand returns a generator seeded with seed.
func NewRand(seed uint64) *Rand { return &Rand{state: seed} }

// Uint64 returns the next 64 random bits.
func (r *Rand) Uint64() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// uintn returns a uniform integer in [0, n) for n > 0 without modulo bias
// (Lemire's multiply-and-reject).
func uintn(src Source, n uint64) uint64 {
	hi, lo := bits.Mul64(src.Uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(src.Uint64(), n)
		}
	}
	return hi
}

// float64n returns a uniform float64 in [0, 1) with 53 random bits.
func float64n(src Source) float64 {
	return float64(src.Uint64()>>11) * (1.0 / (1 << 53))
}

// Shuffle permutes idx in place (Fisher-Yates).
func Shuffle[T ~int | ~int32](idx []T, src Source) {
	for i := len(idx) - 1; i > 0; i-- {
		j := int(uintn(src, uint64(i+1)))
		idx[i], idx[j] = idx[j], idx[i]
	}
}

// normal returns a standard normal sample (Marsaglia's polar method).
func normal(src Source) float64 {
	for {
		u := 2*float64n(src) - 1
		v := 2*float64n(src) - 1
		s := float64(u*u) + float64(v*v)
		if s >= 1 || s == 0 {
			continue
		}
		return float64(u * math.Sqrt(float64(-2*detmath.Log(s))/s))
	}
}

// logGamma returns the log of a Gamma(alpha, 1) sample (Marsaglia and
// Tsang). Working in log space keeps tiny alphas, whose samples underflow
// to zero as plain floats, usable for Dirichlet proportions.
func logGamma(src Source, alpha float64) float64 {
	boost := 0.0
	if alpha < 1 {
		// Gamma(a) = Gamma(a+1) * U^(1/a).
		u := float64n(src)
		for u == 0 {
			u = float64n(src)
		}
		boost = detmath.Log(u) / alpha
		alpha++
	}
	d := alpha - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := normal(src)
		v := 1 + float64(c*x)
		if v <= 0 {
			continue
		}
		v = float64(float64(v*v) * v)
		u := float64n(src)
		x2 := float64(x * x)
		if u < 1-float64(0.0331*float64(x2*x2)) {
			return detmath.Log(float64(d*v)) + boost
		}
		if u > 0 && detmath.Log(u) < float64(0.5*x2)+float64(d*(1-v+detmath.Log(v))) {
			return detmath.Log(float64(d*v)) + boost
		}
	}
}

// dirichlet fills p with a Dirichlet(alpha, ..., alpha) sample.
func dirichlet(src Source, alpha float64, p []float64) {
	maxL := math.Inf(-1)
	for i := range p {
		p[i] = logGamma(src, alpha)
		if p[i] > maxL {
			maxL = p[i]
		}
	}
	sum := 0.0
	for i := range p {
		p[i] = detmath.Exp(p[i] - maxL)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
}
