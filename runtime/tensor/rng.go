package tensor

import "math/bits"

// RNG is a seeded splitmix64 generator. Its whole state is one uint64, so it
// is trivial to checkpoint, and it uses only integer arithmetic, so the
// same seed yields the same stream on every GOARCH (wasm included). It is
// not safe for concurrent use and not cryptographic.
type RNG struct{ state uint64 }

// NewRNG returns a generator seeded with seed.
func NewRNG(seed uint64) *RNG { return &RNG{state: seed} }

// State returns the generator's state; SetState(State()) resumes the stream.
func (r *RNG) State() uint64 { return r.state }

// SetState restores a state returned by State.
func (r *RNG) SetState(s uint64) { r.state = s }

// Skip advances the generator as n draws (of any kind) would: a kernel
// that drew them elsewhere (runtime/kernels.Dropout) need not return it.
func (r *RNG) Skip(n int) { r.state += uint64(n) * 0x9e3779b97f4a7c15 }

// Uint64 returns the next 64 random bits.
func (r *RNG) Uint64() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Float32 returns a uniform number in [0, 1) with 24 random bits.
func (r *RNG) Float32() float32 {
	return float32(r.Uint64()>>40) * (1.0 / (1 << 24))
}

// Float64 returns a uniform number in [0, 1) with 53 random bits.
func (r *RNG) Float64() float64 {
	return float64(r.Uint64()>>11) * (1.0 / (1 << 53))
}

// Intn returns a number in [0, n) (n > 0) by multiply-shift; the bias is
// below 2^-32 for any n that fits in 32 bits.
func (r *RNG) Intn(n int) int {
	if n <= 0 {
		panic("tensor: RNG.Intn with n <= 0")
	}
	hi, _ := bits.Mul64(r.Uint64(), uint64(n))
	return int(hi)
}

// Uniform fills dst with uniform numbers in [lo, hi).
func (r *RNG) Uniform(dst []float32, lo, hi float32) {
	w := hi - lo
	for i := range dst {
		dst[i] = lo + float32(w*r.Float32())
	}
}

// Shuffle permutes [0, n) in place through swap (Fisher-Yates).
func (r *RNG) Shuffle(n int, swap func(i, j int)) {
	for i := n - 1; i > 0; i-- {
		swap(i, r.Intn(i+1))
	}
}

// Perm returns a random permutation of [0, n).
func (r *RNG) Perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	r.Shuffle(n, func(i, j int) { p[i], p[j] = p[j], p[i] })
	return p
}

// Split returns a new generator whose stream is independent of r's (seeded
// from r's next output), for giving subsystems their own streams.
func (r *RNG) Split() *RNG { return NewRNG(r.Uint64()) }
