// Package encode maps float32 model updates to vectors in Z_2^B that can be
// summed by secure aggregation (all arithmetic mod 2^B), and decodes such a
// modular sum back to float32. It is the one fixed-point encoding shared by
// secagg and the secure-path codec in sync/codec.
//
// # The math
//
// Parameters: input length d, quantization bits b (2..32), modulus bits B
// (b+ceil(log2 n) <= B <= 64, where n is the maximum number of summands),
// L2 clip bound C > 0, per-coordinate range R > 0 (default C), maximum
// weight W >= 1 (default 1), optional rotation with a 32-byte shared seed.
//
// Encoding one client's x in R^d with integer weight w in [0, W]:
//
//  1. Clip: x <- x * min(1, C/||x||_2).
//  2. Weight: x <- x * (w/W). (Still inside the clip ball.)
//  3. Rotate (optional): pad x with zeros to P = the next power of two >= d,
//     then y = H·D·x / sqrt(P), with H the P×P Walsh-Hadamard matrix
//     (entries ±1, Sylvester order) and D = diag(s) with s_i in {−1,+1}
//     drawn from the seed (see Signs). y is an orthonormal transform of x,
//     so ||y|| = ||x||, but its coordinates are spread out (≈ ||x||/sqrt(P)
//     each), which makes a small range R accurate. Without rotation P = d.
//  4. Clamp: y_i <- max(−R, min(R, y_i)). (A no-op when R >= C.)
//  5. Quantize: with M = 2^(b−1) − 1 and step Δ = R/M, let u_i = y_i/Δ in
//     [−M, M] and q_i = floor(u_i) + Bernoulli(u_i − floor(u_i)), so
//     E[q_i] = u_i (unbiased) and |q_i − u_i| < 1.
//  6. Map into Z_2^B by two's complement: e_i = q_i mod 2^B (negative q_i
//     becomes 2^B + q_i). Coordinate P (the last, the "weight coordinate")
//     is e_P = w, unsigned.
//
// The encoding has P+1 coordinates.
//
// Decoding a sum S = Σ_j e_j mod 2^B of at most n encodings: the weight
// coordinate gives Σ w_j exactly (n·W < 2^B is checked). Each other
// coordinate is read as a signed B-bit integer (S_i >= 2^(B−1) means
// S_i − 2^B); since |Σ q| <= n·M < 2^(B−1) it never wraps. Then
// z = Δ·S_signed, the inverse rotation x = D·H·z / sqrt(P) truncated to d,
// and the result is multiplied by W: Σ_j w_j·clip(x_j) in expectation. The
// weighted mean divides by Σ w_j.
//
// Error bound: each q_i is within 1 of u_i, so each summed coordinate is
// within n·Δ of the exact sum in the rotated domain (L∞), and the L2 error
// after the (orthonormal) inverse rotation is at most n·Δ·sqrt(P), times W.
//
// Determinism: the encoder uses float64 throughout, only single IEEE
// operations (products are rounded explicitly before use, so no fused
// multiply-add can change them), and draws its rounding randomness from a
// caller-supplied math/rand/v2 Source, so the same inputs and seed give the
// same bytes on every GOARCH.
package encode

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
)

// ErrParams reports invalid encoding parameters.
var ErrParams = errors.New("encode: invalid parameters")

// Params configure an Encoder. Zero fields take the defaults documented on
// each field.
type Params struct {
	Dim        int     // d, the input length (>= 1)
	Bits       int     // b, quantization bits per coordinate, 2..32
	MaxClients int     // n, the most encodings that will be summed (>= 1)
	ModBits    int     // B; 0 means MinModBits(Bits, MaxClients); at most 64
	ClipNorm   float64 // C, the L2 clip bound (> 0)
	Range      float64 // R, the per-coordinate clamp after rotation; 0 means ClipNorm
	MaxWeight  uint64  // W, the largest weight (example count); 0 means 1
	Rotate     bool    // apply the seeded randomized Hadamard rotation
	Seed       [32]byte
}

// MinModBits returns the smallest B for which n sums of b-bit values never
// wrap: b + ceil(log2 n).
func MinModBits(b, n int) int {
	if n <= 1 {
		return b
	}
	return b + bits.Len(uint(n-1))
}

// Encoder holds the derived constants of one Params; it is safe for
// concurrent use.
type Encoder struct {
	p      Params
	padded int       // P
	step   float64   // Δ
	maxQ   int64     // M
	signs  []float64 // D, only when rotating
	mask   uint64    // 2^B − 1
}

// New validates p, fills in defaults and returns an Encoder.
func New(p Params) (*Encoder, error) {
	if p.Dim < 1 || p.Dim > 1<<30 {
		return nil, fmt.Errorf("%w: Dim %d out of range 1..2^30", ErrParams, p.Dim)
	}
	if p.Bits < 2 || p.Bits > 32 {
		return nil, fmt.Errorf("%w: Bits %d out of range 2..32", ErrParams, p.Bits)
	}
	if p.MaxClients < 1 || p.MaxClients > 1<<24 {
		return nil, fmt.Errorf("%w: MaxClients %d out of range 1..2^24", ErrParams, p.MaxClients)
	}
	if p.ModBits == 0 {
		p.ModBits = MinModBits(p.Bits, p.MaxClients)
	}
	if min := MinModBits(p.Bits, p.MaxClients); p.ModBits < min || p.ModBits > 64 {
		return nil, fmt.Errorf("%w: ModBits %d must be in %d..64 (Bits %d + ceil(log2 MaxClients %d))",
			ErrParams, p.ModBits, min, p.Bits, p.MaxClients)
	}
	if !(p.ClipNorm > 0) || math.IsInf(p.ClipNorm, 0) {
		return nil, fmt.Errorf("%w: ClipNorm %v must be finite and > 0", ErrParams, p.ClipNorm)
	}
	if p.Range == 0 {
		p.Range = p.ClipNorm
	}
	if !(p.Range > 0) || math.IsInf(p.Range, 0) {
		return nil, fmt.Errorf("%w: Range %v must be finite and > 0", ErrParams, p.Range)
	}
	if p.MaxWeight == 0 {
		p.MaxWeight = 1
	}
	// n·W must fit below 2^B so the weight coordinate never wraps.
	if hi, lo := bits.Mul64(uint64(p.MaxClients), p.MaxWeight); hi != 0 || (p.ModBits < 64 && lo >= 1<<uint(p.ModBits)) {
		return nil, fmt.Errorf("%w: MaxClients %d × MaxWeight %d does not fit in ModBits %d",
			ErrParams, p.MaxClients, p.MaxWeight, p.ModBits)
	}
	e := &Encoder{p: p, padded: p.Dim, maxQ: 1<<uint(p.Bits-1) - 1}
	e.step = p.Range / float64(e.maxQ)
	e.mask = ^uint64(0)
	if p.ModBits < 64 {
		e.mask = 1<<uint(p.ModBits) - 1
	}
	if p.Rotate {
		e.padded = 1 << bits.Len(uint(p.Dim-1))
		e.signs = Signs(p.Seed, e.padded)
	}
	return e, nil
}

// Params returns the parameters with defaults filled in.
func (e *Encoder) Params() Params { return e.p }

// Len is the length of an encoding: P+1 (padded length plus the weight
// coordinate).
func (e *Encoder) Len() int { return e.padded + 1 }

// Step is the quantization step Δ = R / (2^(b−1) − 1).
func (e *Encoder) Step() float64 { return e.step }

// Signs expands seed into the n rotation signs (±1): SHA-256 in counter mode,
// block j = SHA-256("murmur/encode/rotation/v1" || seed || uint64le(j)),
// sign i = +1 if bit (i mod 256) of block i/256 (little-endian bit order
// within bytes) is 0, else −1.
func Signs(seed [32]byte, n int) []float64 {
	s := make([]float64, n)
	var buf [25 + 32 + 8]byte
	copy(buf[:], "murmur/encode/rotation/v1")
	copy(buf[25:], seed[:])
	var blk [32]byte
	for i := range s {
		if i%256 == 0 {
			binary.LittleEndian.PutUint64(buf[57:], uint64(i/256))
			blk = sha256.Sum256(buf[:])
		}
		j := i % 256
		if blk[j/8]>>(j%8)&1 == 0 {
			s[i] = 1
		} else {
			s[i] = -1
		}
	}
	return s
}

// Encode encodes x with weight w (0..MaxWeight) into dst (grown as needed,
// length Len()), drawing rounding randomness from rng.
func (e *Encoder) Encode(dst []uint64, x []float32, w uint64, rng rand.Source) ([]uint64, error) {
	if len(x) != e.p.Dim {
		return nil, fmt.Errorf("encode: input length %d, want Dim %d", len(x), e.p.Dim)
	}
	if w > e.p.MaxWeight {
		return nil, fmt.Errorf("encode: weight %d exceeds MaxWeight %d", w, e.p.MaxWeight)
	}
	y := make([]float64, e.padded)
	var ss float64
	for i, v := range x {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("encode: input coordinate %d is %v", i, v)
		}
		y[i] = f
		ss += float64(f * f)
	}
	scale := float64(w) / float64(e.p.MaxWeight)
	if norm := math.Sqrt(ss); norm > e.p.ClipNorm {
		scale = float64(scale * (e.p.ClipNorm / norm))
	}
	for i := range y[:e.p.Dim] {
		y[i] = float64(y[i] * scale)
	}
	if e.signs != nil {
		for i := range y {
			y[i] = float64(y[i] * e.signs[i])
		}
		fwht(y)
		inv := 1 / math.Sqrt(float64(e.padded))
		for i := range y {
			y[i] = float64(y[i] * inv)
		}
	}
	dst = grow(dst, e.padded+1)
	M := float64(e.maxQ)
	for i, v := range y {
		u := v / e.step
		u = math.Max(-M, math.Min(M, u))
		fl := math.Floor(u)
		q := int64(fl)
		// Uniform in [0,1) with 53 bits; round up with probability u−fl.
		if r := float64(rng.Uint64()>>11) * 0x1p-53; r < u-fl {
			q++
		}
		dst[i] = uint64(q) & e.mask
	}
	dst[e.padded] = w
	return dst, nil
}

// DecodeSum decodes a modular sum (mod 2^B, length Len()) of encodings into
// Σ_j w_j·clip(x_j) (length Dim) and the total weight Σ_j w_j.
func (e *Encoder) DecodeSum(sum []uint64) ([]float32, uint64, error) {
	if len(sum) != e.padded+1 {
		return nil, 0, fmt.Errorf("encode: sum length %d, want %d", len(sum), e.padded+1)
	}
	z := make([]float64, e.padded)
	half := uint64(1) << uint(e.p.ModBits-1)
	for i := range z {
		v := sum[i] & e.mask
		var s int64
		if v >= half {
			s = int64(v | ^e.mask) // sign-extend the B-bit value
		} else {
			s = int64(v)
		}
		z[i] = float64(float64(s) * e.step)
	}
	if e.signs != nil {
		fwht(z)
		inv := 1 / math.Sqrt(float64(e.padded))
		for i := range z {
			z[i] = float64(float64(z[i]*inv) * e.signs[i])
		}
	}
	out := make([]float32, e.p.Dim)
	W := float64(e.p.MaxWeight)
	for i := range out {
		out[i] = float32(z[i] * W)
	}
	return out, sum[e.padded] & e.mask, nil
}

// DecodeMean decodes a modular sum into the weighted mean
// Σ_j w_j·clip(x_j) / Σ_j w_j. It fails when the total weight is zero.
func (e *Encoder) DecodeMean(sum []uint64) ([]float32, error) {
	v, tw, err := e.DecodeSum(sum)
	if err != nil {
		return nil, err
	}
	if tw == 0 {
		return nil, errors.New("encode: total weight is zero; no mean")
	}
	inv := 1 / float64(tw)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
	return v, nil
}

// AddMod sets dst[i] = (dst[i] + src[i]) mod 2^bits; it is how encodings
// (and masked vectors) are summed.
func AddMod(dst, src []uint64, bits int) {
	m := modMask(bits)
	src = src[:len(dst)]
	for i := range dst {
		dst[i] = (dst[i] + src[i]) & m
	}
}

func modMask(bits int) uint64 {
	if bits >= 64 {
		return ^uint64(0)
	}
	return 1<<uint(bits) - 1
}

// fwht is the in-place unnormalized Walsh-Hadamard transform (len(a) a power
// of two). Only additions and subtractions: exact order, no FMA.
func fwht(a []float64) {
	n := len(a)
	for h := 1; h < n; h <<= 1 {
		for i := 0; i < n; i += h << 1 {
			x, y := a[i:i+h], a[i+h:i+2*h]
			for j := range x {
				u, v := x[j], y[j]
				x[j], y[j] = u+v, u-v
			}
		}
	}
}

func grow(s []uint64, n int) []uint64 {
	if cap(s) < n {
		return make([]uint64, n)
	}
	return s[:n]
}
