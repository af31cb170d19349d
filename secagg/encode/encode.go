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
//  3. Rotate (optional). Version 1: pad x with zeros to P = the next power
//     of two >= d, then y = H·D·x / sqrt(P), with H the P×P Walsh-Hadamard
//     matrix (entries ±1, Sylvester order) and D = diag(s) with s_i in
//     {−1,+1} drawn from the seed (see Signs). y is an orthonormal
//     transform of x, so ||y|| = ||x||, but its coordinates are spread out
//     (≈ ||x||/sqrt(P) each), which makes a small range R accurate.
//     Version 2 (no padding, P = d): with K = the largest power of two
//     <= d and s = Signs(seed, 2K), rotate the window [0, K) by
//     H·diag(s[0:K])/sqrt(K) and then, if d > K, the window [d−K, d) by
//     H·diag(s[K:2K])/sqrt(K) (each window product rounded before use).
//     Both windows are orthonormal, so is their product, and every
//     coordinate comes out with scale at most ||x||/sqrt(K) (K > d/2): the
//     same tail bound as one padded rotation of size K, without sending
//     up to d padding coordinates. Without rotation P = d.
//  4. Clamp: y_i <- max(−R, min(R, y_i)). (A no-op when R >= C.)
//  5. Quantize: with M = 2^(b−1) − 1 and step Δ = R/M, let u_i = y_i/Δ in
//     [−M, M] and q_i = floor(u_i) + Bernoulli(u_i − floor(u_i)), so
//     E[q_i] = u_i (unbiased) and |q_i − u_i| < 1. Version 1 draws the
//     Bernoulli from one rng.Uint64() per coordinate (53 bits: round up
//     when (r>>11)·2^−53 < u_i − floor(u_i)). Version 2 takes one key =
//     rng.Uint64() per Encode and a counter-based stream (wyrand): word j
//     is hi^lo of the 128-bit product s·(s XOR 0xe7037ed1a0b428db) with
//     s = key + (j+1)·0xa0761d6478bd642f; coordinate i uses the low (i
//     even) or high (i odd) 32 bits r of word i/2. Version 2 also computes
//     t_i = y_i·(1/Δ) + M (each product and sum rounded), clamps it to
//     [0, 2M] and sets q_i = floor(t_i) − M, plus one when
//     r·2^−32 < t_i − floor(t_i) (bias below 2^−32 steps). It is not
//     cryptographic; rounding needs only uniformity, and it is about 10x
//     cheaper than a Source call per coordinate. (Version 2 also sums the
//     squares for the clip in four interleaved partial sums; see
//     sumSquares.)
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
// Versions change the bytes an encoder writes for the same inputs and
// seeds (version 2 also the length with rotation); decoders of both exist,
// and a sum must only mix encodings of one version.
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
	"sync"
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
	// Version of the encoding (see the package doc): 1 (one Uint64 of the
	// Source per coordinate; rotation padded to a power of two) or 2
	// (counter-based rounding stream; rotation without padding). 0 means
	// 2.
	Version int
}

// Latest is the encoding version New uses when Params.Version is 0.
const Latest = 2

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
	block  int       // K, the rotation window (version 2); P in version 1
	step   float64   // Δ
	maxQ   int64     // M
	signs  []float64 // D, only when rotating (version 2: 2K, two windows)
	// signBits: bit i (of byte i/8) set when signs[i] is −1 (version 2
	// with the AVX2 kernels).
	signBits []byte
	mask     uint64 // 2^B − 1
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
	if p.Version == 0 {
		p.Version = Latest
	}
	if p.Version != 1 && p.Version != 2 {
		return nil, fmt.Errorf("%w: Version %d (want 1 or 2)", ErrParams, p.Version)
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
		switch p.Version {
		case 1:
			e.padded = 1 << bits.Len(uint(p.Dim-1))
			e.block = e.padded
			e.signs = Signs(p.Seed, e.padded)
		default:
			e.block = RotationBlock(p.Dim)
			e.signs = Signs(p.Seed, 2*e.block)
			if useAVX2 && e.block >= 64 {
				e.signBits = make([]byte, 2*e.block/8)
				for i, v := range e.signs {
					if v < 0 {
						e.signBits[i/8] |= 1 << (i % 8)
					}
				}
			}
		}
	}
	return e, nil
}

// RotationBlock is K, the size of version 2's rotation windows for d
// coordinates: the largest power of two <= d. Each rotated coordinate has
// scale at most ||x||/sqrt(K), which is what a range should be set from.
func RotationBlock(d int) int { return 1 << (bits.Len(uint(d)) - 1) }

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
// length Len()), drawing rounding randomness from rng: version 1 takes
// exactly one Uint64 per coordinate of the (padded) rotated vector, in
// order; version 2 one Uint64 per call (the key of its stream).
func (e *Encoder) Encode(dst []uint64, x []float32, w uint64, rng rand.Source) ([]uint64, error) {
	if len(x) != e.p.Dim {
		return nil, fmt.Errorf("encode: input length %d, want Dim %d", len(x), e.p.Dim)
	}
	if w > e.p.MaxWeight {
		return nil, fmt.Errorf("encode: weight %d exceeds MaxWeight %d", w, e.p.MaxWeight)
	}
	ss, bad := sumSquares(x, e.p.Version)
	if bad >= 0 {
		return nil, fmt.Errorf("encode: input coordinate %d is %v", bad, x[bad])
	}
	scale := float64(w) / float64(e.p.MaxWeight)
	if norm := math.Sqrt(ss); norm > e.p.ClipNorm {
		scale = float64(scale * (e.p.ClipNorm / norm))
	}
	dst = grow(dst, e.padded+1)
	q := quantizer{step: e.step, m: float64(e.maxQ), inv: 1 / e.step, mask: e.mask}
	if e.p.Version == 1 {
		if e.signs == nil {
			// y_i = x_i·scale, quantized straight from the input: no float64 copy.
			q.run(dst[:e.p.Dim], x, scale, rng)
		} else {
			bp := scratch(e.padded)
			y := *bp
			for i, v := range x {
				y[i] = float64(float64(v)*scale) * e.signs[i] // ·±1 is exact
			}
			for i := e.p.Dim; i < len(y); i++ {
				y[i] = 0 * e.signs[i] // the padding keeps its signed zero
			}
			fwht(y)
			q.run(dst[:e.padded], y, 1/math.Sqrt(float64(e.padded)), rng)
			pool.Put(bp)
		}
		dst[e.padded] = w
		return dst, nil
	}
	key := rng.Uint64()
	if e.signs == nil {
		quantizeCounter(dst[:e.p.Dim], x, scale, key, q)
	} else if e.signBits != nil {
		e.encodeRotated(dst[:e.p.Dim], x, scale, key, q)
	} else {
		bp := scratch(e.p.Dim)
		y := *bp
		cvtScale(y, x, scale)
		K := e.block
		inv := 1 / math.Sqrt(float64(K))
		rotate(y[:K], e.signs[:K], inv)
		if e.p.Dim > K {
			rotate(y[e.p.Dim-K:], e.signs[K:], inv)
		}
		quantizeCounter(dst[:e.p.Dim], y, 1, key, q)
		pool.Put(bp)
	}
	dst[e.padded] = w
	return dst, nil
}

// sumSquares returns Σ x_i² in float64 (each square rounded before it is
// added) and the index of the first non-finite x_i, or -1. Version 1 adds
// in order; version 2 keeps four partial sums (of i mod 4) and adds them
// as (s0+s1)+(s2+s3), which breaks the add latency chain.
func sumSquares(x []float32, version int) (float64, int) {
	if version != 1 {
		return sumSquares4(x)
	}
	return sumSquaresGo(x, version)
}

// sumSquaresGo is sumSquares in Go (sumSquares4's twin for version 2).
func sumSquaresGo(x []float32, version int) (float64, int) {
	var s0, s1, s2, s3 float64
	var nonFinite bool
	i := 0
	if version != 1 {
		for ; i+4 <= len(x); i += 4 {
			q := x[i : i+4 : i+4]
			a, b, c, d := float64(q[0]), float64(q[1]), float64(q[2]), float64(q[3])
			// x-x is 0 for finite x and NaN otherwise: one check per 4.
			nonFinite = nonFinite || (a-a)+(b-b)+(c-c)+(d-d) != 0
			s0 += float64(a * a)
			s1 += float64(b * b)
			s2 += float64(c * c)
			s3 += float64(d * d)
		}
	}
	for ; i < len(x); i++ {
		f := float64(x[i])
		nonFinite = nonFinite || f-f != 0
		s0 += float64(f * f)
	}
	if nonFinite {
		for j, v := range x {
			if v-v != 0 {
				return 0, j
			}
		}
	}
	if version == 1 {
		return s0, -1
	}
	return (s0 + s1) + (s2 + s3), -1
}

// rotate sets y = H·diag(signs)·y·inv (version 2's window).
func rotate(y, signs []float64, inv float64) {
	signs = signs[:len(y)]
	for i := range y {
		y[i] *= signs[i]
	}
	fwht(y)
	for i := range y {
		y[i] = float64(y[i] * inv)
	}
}

// unrotate inverts rotate: y = diag(signs)·H·y·inv.
func unrotate(y, signs []float64, inv float64) {
	signs = signs[:len(y)]
	fwht(y)
	for i := range y {
		y[i] = float64(y[i]*inv) * signs[i]
	}
}

// one quantizes y with the 32-bit uniform r (version 2): t = y·(1/Δ) + M
// clamped to [0, 2M] (each operation rounded on its own), q = floor(t) − M
// plus one with probability t − floor(t). A multiply instead of a divide,
// and t >= 0 makes the integer conversion the floor.
func (q quantizer) one(y float64, r uint32) uint64 {
	t := float64(y*q.inv) + q.m
	if t < 0 { // clamping is rare: these branches predict well
		t = 0
	} else if t > 2*q.m {
		t = 2 * q.m
	}
	fl := int64(t)
	var up int64
	if float64(r)*0x1p-32 < t-float64(fl) {
		up = 1
	}
	return uint64(fl+up-int64(q.m)) & q.mask
}

// quantizer does steps 4 to 6 (clamp, stochastic rounding, map into Z_2^B).
type quantizer struct {
	step, m float64 // Δ and M
	inv     float64 // 1/Δ (version 2)
	mask    uint64
}

// randBatch is how many rounding draws are taken from the Source at a time.
const randBatch = 256

// run sets dst[i] to the encoding of y_i = float64(src[i]·mul). The draws
// are taken in batches through concrete types where it can (an interface
// call per coordinate costs about as much as the rest of the loop), but in
// the same order and number as one Uint64 per coordinate, so the bytes are
// those of the plain loop.
func (q quantizer) run(dst []uint64, src any, mul float64, rng rand.Source) {
	var buf [randBatch]uint64
	n := len(dst)
	for o := 0; o < n; o += randBatch {
		r := buf[:min(randBatch, n-o)]
		fill(r, rng)
		switch s := src.(type) {
		case []float32:
			quantizeBlock(dst[o:o+len(r)], s[o:o+len(r)], mul, r, q)
		case []float64:
			quantizeBlock(dst[o:o+len(r)], s[o:o+len(r)], mul, r, q)
		}
	}
}

func fill(r []uint64, rng rand.Source) {
	switch s := rng.(type) {
	case *rand.PCG:
		for i := range r {
			r[i] = s.Uint64()
		}
	case *rand.ChaCha8:
		for i := range r {
			r[i] = s.Uint64()
		}
	default:
		for i := range r {
			r[i] = rng.Uint64()
		}
	}
}

func quantizeBlock[F float32 | float64](dst []uint64, src []F, mul float64, r []uint64, q quantizer) {
	src, r = src[:len(dst)], r[:len(dst)]
	for i, v := range src {
		u := float64(float64(v)*mul) / q.step
		// Clamp to [−M, M] (u is finite; −0 stays −0, as with math.Max/Min).
		if u > q.m {
			u = q.m
		} else if u < -q.m {
			u = -q.m
		}
		fl := math.Floor(u)
		// Uniform in [0,1) with 53 bits; round up with probability u−fl.
		// Branch-free: the outcome is a coin flip no predictor can learn.
		var up int64
		if float64(int64(r[i]>>11))*0x1p-53 < u-fl {
			up = 1
		}
		dst[i] = uint64(int64(fl)+up) & q.mask
	}
}

// pool holds float64 scratch vectors for the rotation, so an Encoder shared
// by goroutines allocates none per call in steady state.
var pool sync.Pool

func scratch(n int) *[]float64 {
	if p, ok := pool.Get().(*[]float64); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	s := make([]float64, n)
	return &s
}

// DecodeSum decodes a modular sum (mod 2^B, length Len()) of encodings into
// Σ_j w_j·clip(x_j) (length Dim) and the total weight Σ_j w_j.
func (e *Encoder) DecodeSum(sum []uint64) ([]float32, uint64, error) {
	if len(sum) != e.padded+1 {
		return nil, 0, fmt.Errorf("encode: sum length %d, want %d", len(sum), e.padded+1)
	}
	out := make([]float32, e.p.Dim)
	W := float64(e.p.MaxWeight)
	// Sign-extend the B-bit values by shifting them to the top and back
	// (arithmetic shift): no branch, whatever the sign.
	if e.signs == nil {
		decodeValues(out, sum, e.p.ModBits, e.step, W)
		return out, sum[e.padded] & e.mask, nil
	}
	bp := scratch(e.padded)
	z := *bp
	decodeSteps(z, sum, e.p.ModBits, e.step)
	if e.signBits != nil {
		e.decodeRotated(out, z, sum)
		pool.Put(bp)
		return out, sum[e.padded] & e.mask, nil
	}
	if e.p.Version != 1 {
		K := e.block
		inv := 1 / math.Sqrt(float64(K))
		if e.p.Dim > K {
			unrotate(z[e.p.Dim-K:], e.signs[K:], inv)
		}
		unrotate(z[:K], e.signs[:K], inv)
		toF32(out, z, W)
		pool.Put(bp)
		return out, sum[e.padded] & e.mask, nil
	}
	fwht(z)
	inv := 1 / math.Sqrt(float64(e.padded))
	for i := range out {
		v := float64(float64(z[i]*inv) * e.signs[i])
		out[i] = float32(v * W)
	}
	pool.Put(bp)
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

// fwhtBlock is the block whose levels are done first, in L1 (32 KiB of
// float64).
const fwhtBlock = 1 << 12

// fwht is the in-place unnormalized Walsh-Hadamard transform (len(a) a power
// of two). Only additions and subtractions: exact order, no FMA. The levels
// below fwhtBlock are done block by block while the block is in cache, the
// rest two levels per pass over memory; every element sees the same
// operations in the same order as in the textbook level-by-level loop
// (butterflies of one level are independent), so the result is identical.
func fwht(a []float64) {
	n := len(a)
	b := min(n, fwhtBlock)
	for o := 0; o < n; o += b {
		fwhtLevels(a[o:o+b], 1)
	}
	fwhtLevels(a, b)
}

// fwhtLevels applies the levels h, 2h, ... below len(a) to a, two at a time
// (radix 4: four elements, two butterflies of level h, then two of level
// 2h, the same operations as level by level).
func fwhtLevels(a []float64, h int) {
	n := len(a)
	if useAVX2 && h == 1 && n >= 8 {
		fwht4AVX2(&a[0], n)
		h = 4
	}
	if h == 1 && n >= 4 {
		for i := 0; i+4 <= n; i += 4 {
			q := a[i : i+4 : i+4]
			s0, d0 := q[0]+q[1], q[0]-q[1]
			s1, d1 := q[2]+q[3], q[2]-q[3]
			q[0], q[2] = s0+s1, s0-s1
			q[1], q[3] = d0+d1, d0-d1
		}
		h = 4
	}
	if fwhtPasses(a, h) {
		return
	}
	fwhtLevelsGo(a, h)
}

// fwhtLevelsGo is fwhtLevels' passes for h >= 4 in Go (fwhtPasses' twin),
// or all of them from h = 1.
func fwhtLevelsGo(a []float64, h int) {
	n := len(a)
	if h == 1 && n >= 4 {
		for i := 0; i+4 <= n; i += 4 {
			q := a[i : i+4 : i+4]
			s0, d0 := q[0]+q[1], q[0]-q[1]
			s1, d1 := q[2]+q[3], q[2]-q[3]
			q[0], q[2] = s0+s1, s0-s1
			q[1], q[3] = d0+d1, d0-d1
		}
		h = 4
	}
	for ; 4*h <= n; h *= 4 {
		for i := 0; i < n; i += 4 * h {
			p0, p1, p2, p3 := a[i:i+h], a[i+h:i+2*h], a[i+2*h:i+3*h], a[i+3*h:i+4*h]
			p1, p2, p3 = p1[:len(p0)], p2[:len(p0)], p3[:len(p0)]
			for j := range p0 {
				x0, x1, x2, x3 := p0[j], p1[j], p2[j], p3[j]
				s0, d0 := x0+x1, x0-x1 // level h
				s1, d1 := x2+x3, x2-x3
				p0[j], p2[j] = s0+s1, s0-s1 // level 2h
				p1[j], p3[j] = d0+d1, d0-d1
			}
		}
	}
	if 2*h <= n { // one level left
		for i := 0; i < n; i += 2 * h {
			x, y := a[i:i+h], a[i+h:i+2*h]
			y = y[:len(x)]
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
