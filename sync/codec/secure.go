package codec

import (
	crand "crypto/rand"
	"crypto/sha256"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"sync"

	"github.com/murmur-fl/murmur/secagg/encode"
	"github.com/murmur-fl/murmur/sync/codec/internal/frame"
	"github.com/murmur-fl/murmur/sync/codec/internal/sketch"
)

// Secure is the upload path under secure aggregation, where the server only
// ever sees a modular sum, so every step must be linear with parameters
// shared by the round (Config, including its seed):
//
//	"secure": clip the whole update to Config.Clip (L2), keep the round's
//	  shared subsample of coordinates (one per stratum of about 1/Fraction
//	  coordinates, picked from the seed; with Rotate, versions 1 and 2
//	  round the count to the nearest power of two), then secagg/encode: optional
//	  seeded Hadamard rotation (version 2: of any length, without
//	  padding), stochastic rounding to Bits bits into Z_2^B, and the
//	  weight coordinate. The server scales each summed
//	  coordinate by its stratum size, an unbiased estimate of the sum.
//	"sketch": clip, quantize the whole update with secagg/encode (no
//	  rotation), and count-sketch the integers mod 2^B into Rows × Cols
//	  counters. ModBits defaults to the least B for which no counter of a
//	  sum of MaxClients sketches can wrap. The server unsketches the sum and
//	  keeps the TopK largest coordinates.
//
// Encode gives the vector in Z_2^B that secagg masks; Pack and Unpack frame
// the masked vector bit-packed at exactly B bits; DecodeSum turns the
// unmasked modular sum back into Σ weight·update. A Secure is safe for
// concurrent use.
type Secure struct {
	id  ID
	cfg Config
	dim int

	// "secure": chosen coordinates (increasing) and their stratum sizes;
	// nil when every coordinate is kept.
	sub    []uint32
	strata []uint32

	enc *encode.Encoder // over the kept coordinates ("secure") or all ("sketch")
	sk  *sketch.Sketch
	tab *encode.Encoder // "sketch": decodes the summed counter table

	scratch sync.Pool // "sketch": *[]uint64, the fixed-point vector before sketching
	estPool sync.Pool // "sketch": *[]float32, scratch for the estimates (sketch.EstimateTop)
	fbPool  sync.Pool // feedback: *[]float32, the clipped update plus residual
}

// NewSecure prepares the secure codec of cfg for updates of dim values.
func NewSecure(cfg Config, dim int) (*Secure, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	id, _ := cfg.ID()
	if id != IDSecure && id != IDSketch {
		return nil, fmt.Errorf("%w: codec %q is not a secure-aggregation codec (use NewEncoder)", ErrConfig, cfg.Codec)
	}
	if dim < 1 || dim > math.MaxUint32 {
		return nil, fmt.Errorf("%w: dimension %d out of range", ErrConfig, dim)
	}
	if cfg.Bits == 0 {
		cfg.Bits = 8
	}
	if cfg.Version == 0 {
		cfg.Version = 3
	}
	s := &Secure{id: id, cfg: cfg, dim: dim}
	p := encode.Params{
		Bits: cfg.Bits, MaxClients: cfg.MaxClients, ModBits: cfg.ModBits,
		ClipNorm: cfg.Clip, Range: cfg.Range, MaxWeight: cfg.MaxWeight,
		// Codec versions 1 and 2 use encode's 1 and 2; version 3 is
		// encode's 2 with another subsample count (secure) or hash
		// (sketch).
		Version: min(cfg.Version, 2),
	}
	copy(p.Seed[:], cfg.Seed)
	var err error
	switch id {
	case IDSecure:
		kept := dim
		if f := cfg.Fraction; f != 0 && f < 1 {
			m := max(1, int(math.Ceil(f*float64(dim))))
			if cfg.Rotate && cfg.Version < 3 {
				// Versions 1 and 2 keep a power of two (the nearest,
				// geometrically), the size version 1's rotation pads to.
				// Version 3 keeps the fraction asked for: version 2's
				// rotation takes any length.
				lo := 1 << (bits.Len(uint(m)) - 1)
				if m > lo && float64(m)*float64(m) > float64(lo)*float64(2*lo) {
					lo *= 2
				}
				m = min(lo, dim)
			}
			s.sub, s.strata = subsample(cfg.Seed, dim, m)
			kept = len(s.sub)
		}
		p.Dim, p.Rotate = kept, cfg.Rotate
		if cfg.Feedback {
			// Sent vectors carry residual from about dim/kept rounds.
			p.ClipNorm = cfg.Clip / math.Sqrt(float64(kept)/float64(dim))
		}
		if cfg.Rotate && cfg.Range == 0 {
			// After the randomized Hadamard rotation each coordinate is
			// sub-Gaussian with scale ||x||/sqrt(P) <= Clip/sqrt(P):
			// P(|y_i| > 6·Clip/sqrt(P)) <= 2·exp(-18) ≈ 3e-8, so clamping
			// at that range almost never happens and the step is sqrt(P)/6
			// times finer than with the safe unrotated default (Clip).
			// Version 2 rotates windows of K <= kept without padding, with
			// the same bound for P = K.
			P := 1 << bits.Len(uint(kept-1))
			if cfg.Version >= 2 {
				P = encode.RotationBlock(kept)
			}
			p.Range = math.Min(p.ClipNorm, 6*p.ClipNorm/math.Sqrt(float64(P)))
			s.cfg.Range = p.Range
		}
		if s.enc, err = encode.New(p); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
	case IDSketch:
		if cfg.Rotate || cfg.Feedback || (cfg.Fraction != 0 && cfg.Fraction != 1) {
			return nil, fmt.Errorf("%w: sketch takes no rotation, subsampling or feedback (the server must find coordinates)", ErrConfig)
		}
		rows, cols := cfg.Rows, cfg.Cols
		if rows == 0 {
			rows = 5
		}
		if cols == 0 {
			cols = max(64, dim/100)
		}
		if int64(rows)*int64(cols) > int64(dim)*4 || rows*cols < 1 {
			return nil, fmt.Errorf("%w: a %d×%d sketch of %d values is larger than it is useful", ErrConfig, rows, cols, dim)
		}
		s.cfg.Rows, s.cfg.Cols = rows, cols
		if s.cfg.TopK == 0 {
			s.cfg.TopK = max(1, cols/2)
		}
		if s.cfg.TopK > dim {
			return nil, fmt.Errorf("%w: topk %d exceeds dimension %d", ErrConfig, s.cfg.TopK, dim)
		}
		if s.cfg.Version >= 3 {
			s.sk = sketch.NewV3(cfg.Seed, rows, cols, dim)
		} else {
			s.sk = sketch.New(cfg.Seed, rows, cols, dim)
		}
		need := s.sketchModBits(p)
		switch {
		case cfg.ModBits == 0:
			p.ModBits = need
		case cfg.ModBits < need:
			return nil, fmt.Errorf("%w: mod_bits %d can wrap; a %d×%d sketch of %d clients needs %d", ErrConfig, cfg.ModBits, rows, cols, cfg.MaxClients, need)
		}
		if p.ModBits > 64 {
			return nil, fmt.Errorf("%w: the sketch needs %d modulus bits (> 64); lower bits or range, or add columns", ErrConfig, p.ModBits)
		}
		p.Dim = dim
		if s.enc, err = encode.New(p); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
		p.Dim = s.sk.Len()
		if s.tab, err = encode.New(p); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
	}
	return s, nil
}

// sketchModBits is the least B such that n sketches never wrap a counter:
// one client's counter is a signed sum of at most L (the max load) codes
// with Σ|q_i| <= Σ|u_i| + L <= sqrt(L)·||u|| + L, where ||u|| <= C·M/R is
// the clipped update in quantization steps (M = 2^(b−1)−1); n of them must
// stay below 2^(B−1).
func (s *Secure) sketchModBits(p encode.Params) int {
	R := p.Range
	if R == 0 {
		R = p.ClipNorm
	}
	M := float64(int64(1)<<(p.Bits-1) - 1)
	L := float64(s.sk.MaxLoad())
	perClient := math.Sqrt(L)*math.Min(p.ClipNorm*M/R, M*math.Sqrt(L)) + L
	total := float64(p.MaxClients) * math.Ceil(perClient)
	need := 1 + int(math.Ceil(math.Log2(total+1)))
	return max(need, encode.MinModBits(p.Bits, p.MaxClients))
}

// subsample picks one coordinate per stratum: stratum j is
// [floor(j·d/m), floor((j+1)·d/m)), the pick is uniform within it from a
// ChaCha8 stream keyed by SHA-256("murmur/codec/subsample/v1" || seed).
// Each coordinate is kept with probability 1/size of its stratum, so
// scaling by the size makes the estimate unbiased.
func subsample(seed []byte, d, m int) ([]uint32, []uint32) {
	key := sha256.Sum256(append([]byte("murmur/codec/subsample/v1"), seed...))
	r := rand.New(rand.NewChaCha8(key))
	idx, size := make([]uint32, m), make([]uint32, m)
	for j := range idx {
		lo := uint64(j) * uint64(d) / uint64(m)
		hi := uint64(j+1) * uint64(d) / uint64(m)
		idx[j] = uint32(lo + r.Uint64N(hi-lo))
		size[j] = uint32(hi - lo)
	}
	return idx, size
}

// Config returns the configuration with defaults filled in.
func (s *Secure) Config() Config { return s.cfg }

// Len is the number of Z_2^B elements one device contributes.
func (s *Secure) Len() int {
	if s.id == IDSketch {
		return s.tab.Len()
	}
	return s.enc.Len()
}

// ModBits is B: vectors are summed mod 2^B and packed at B bits.
func (s *Secure) ModBits() int { return s.enc.Params().ModBits }

// Coordinates returns the coordinates the round's subsample keeps (nil when
// all are kept).
func (s *Secure) Coordinates() []uint32 { return s.sub }

// EncodeFeedback is Encode with error feedback (Config.Feedback): it clips
// x to Clip, adds the residual r, sends the round's subsample of that
// (clipped again to Clip/sqrt(fraction), the room for about 1/fraction
// rounds of residual) and leaves in r everything not sent. Stochastic
// rounding error is not fed back: it is unbiased already.
func (s *Secure) EncodeFeedback(dst []uint64, x []float32, w uint64, rng rand.Source, r *Residual) ([]uint64, error) {
	if !s.cfg.Feedback {
		return nil, fmt.Errorf("%w: EncodeFeedback needs a config with feedback", ErrConfig)
	}
	if r == nil {
		return nil, fmt.Errorf("codec: EncodeFeedback needs a residual")
	}
	if len(x) != s.dim {
		return nil, fmt.Errorf("codec: update has %d values, the round's codec expects %d", len(x), s.dim)
	}
	if len(r.v) == 0 {
		r.v = make([]float32, s.dim)
	}
	if len(r.v) != s.dim {
		return nil, fmt.Errorf("codec: residual has %d values but the update has %d (model changed? reset the residual)", len(r.v), s.dim)
	}
	if rng == nil {
		var seed [32]byte
		if _, err := crand.Read(seed[:]); err != nil {
			return nil, fmt.Errorf("codec: seeding the rounding source: %w", err)
		}
		rng = rand.NewChaCha8(seed)
	}
	// The clip bounds this round's fresh update, as without feedback; the
	// residual is added after it.
	scale, err := clipScale(x, s.cfg.Clip)
	if err != nil {
		return nil, err
	}
	// a is scratch (what is kept of it goes to r.v): pooled, so a device
	// does not allocate and zero d floats per round.
	ap, _ := s.fbPool.Get().(*[]float32)
	if ap == nil || cap(*ap) < s.dim {
		ap = new([]float32)
		*ap = make([]float32, s.dim)
	}
	defer s.fbPool.Put(ap)
	a := (*ap)[:s.dim]
	rv := r.v[:len(x)]
	for i, v := range x {
		// float32(·) rounds the product on its own: no fused multiply-add
		// on any GOARCH, so every device keeps the same residual.
		a[i] = float32(v*scale) + rv[i]
	}
	// v is what is sent, scaled below: never a itself, which the residual
	// is computed from (without a subsample, v aliased a and the part cut
	// by the second clip was lost instead of kept in r).
	var v []float32
	if s.sub != nil {
		v = make([]float32, len(s.sub))
		for j, i := range s.sub {
			v[j] = a[i]
		}
	} else {
		v = append([]float32(nil), a...)
	}
	// What is sent must fit the encoder's clip (room for about 1/fraction
	// rounds of residual); the excess stays in the residual.
	s2, err := clipScale(v, s.enc.Params().ClipNorm)
	if err != nil {
		return nil, err
	}
	for j := range v {
		v[j] *= s2
	}
	out, err := s.enc.Encode(dst, v, w, rng)
	if err != nil {
		return nil, fmt.Errorf("codec: %w", err)
	}
	if s.sub == nil {
		for i := range a {
			r.v[i] = a[i] - v[i]
		}
		return out, nil
	}
	copy(r.v, a)
	for j, i := range s.sub {
		r.v[i] = a[i] - v[j]
	}
	return out, nil
}

// clipScale returns min(1, c/||x||), or an error naming a non-finite value.
func clipScale(x []float32, c float64) (float32, error) {
	var ss float64
	for i, v := range x {
		if v-v != 0 {
			return 0, fmt.Errorf("codec: update coordinate %d is %v", i, v)
		}
		ss += float64(v) * float64(v)
	}
	if n := math.Sqrt(ss); n > c {
		return float32(c / n), nil
	}
	return 1, nil
}

// Encode maps update x (dim values) with weight w (0..MaxWeight, such as the
// device's example count) into dst, Len() elements of Z_2^B ready for
// masking. Rounding randomness comes from rng (nil: crypto-seeded).
func (s *Secure) Encode(dst []uint64, x []float32, w uint64, rng rand.Source) ([]uint64, error) {
	if s.cfg.Feedback {
		return nil, fmt.Errorf("%w: a config with feedback needs EncodeFeedback (and a residual)", ErrConfig)
	}
	return s.encode(dst, x, w, rng)
}

func (s *Secure) encode(dst []uint64, x []float32, w uint64, rng rand.Source) ([]uint64, error) {
	if len(x) != s.dim {
		return nil, fmt.Errorf("codec: update has %d values, the round's codec expects %d", len(x), s.dim)
	}
	if rng == nil {
		var seed [32]byte
		if _, err := crand.Read(seed[:]); err != nil {
			return nil, fmt.Errorf("codec: seeding the rounding source: %w", err)
		}
		rng = rand.NewChaCha8(seed)
	}
	if s.sub == nil && s.cfg.Version >= 2 {
		// Nothing is dropped, so the encoder's own clip (to the same
		// Clip, in float64) is the whole clip: no pass and no copy here.
		return s.encodeAll(dst, x, w, rng)
	}
	// Clip the whole update first, so the clip does not depend on which
	// coordinates the subsample kept.
	scale, err := clipScale(x, s.cfg.Clip)
	if err != nil {
		return nil, err
	}
	v := x
	if s.sub != nil || scale != 1 {
		n := s.dim
		if s.sub != nil {
			n = len(s.sub)
		}
		v = make([]float32, n)
		if s.sub != nil {
			for j, i := range s.sub {
				v[j] = x[i] * scale
			}
		} else {
			for i := range v {
				v[i] = x[i] * scale
			}
		}
	}
	return s.encodeAll(dst, v, w, rng)
}

// encodeAll encodes v, the kept (and, in version 1, clipped) coordinates:
// secagg/encode, then for "sketch" the count sketch of the result.
func (s *Secure) encodeAll(dst []uint64, v []float32, w uint64, rng rand.Source) ([]uint64, error) {
	if s.id == IDSecure {
		out, err := s.enc.Encode(dst, v, w, rng)
		if err != nil {
			return nil, fmt.Errorf("codec: %w", err)
		}
		return out, nil
	}
	// The fixed-point vector is scratch here (only its sketch is sent):
	// pooled, so a device does not allocate d words per round.
	qp, _ := s.scratch.Get().(*[]uint64)
	if qp == nil {
		qp = new([]uint64)
	}
	defer s.scratch.Put(qp)
	q, err := s.enc.Encode(*qp, v, w, rng)
	if err != nil {
		return nil, fmt.Errorf("codec: %w", err)
	}
	*qp = q
	n := s.sk.Len()
	if cap(dst) < n+1 {
		dst = make([]uint64, n+1)
	}
	dst = dst[:n+1]
	clear(dst)
	s.sk.AddInt(dst[:n], q[:s.dim], modMask(s.ModBits()))
	dst[n] = q[s.dim] // the weight coordinate
	return dst, nil
}

func modMask(b int) uint64 {
	if b >= 64 {
		return math.MaxUint64
	}
	return 1<<uint(b) - 1
}

// "secure" and "sketch" blobs (codec version 1 or 2, sketch also 3,
// Config.Version; see
// FORMAT.md): seed field = the round
// seed's fingerprint; params: u8 bits, u8 mod bits, u8 feedback (0 or 1:
// the server must not scale by stratum sizes), u32 element count; the
// payload is the (masked) vector bit-packed at mod bits (encode.Pack).

func (s *Secure) params() []byte {
	var fb uint8
	if s.cfg.Feedback {
		fb = 1
	}
	return appendU32([]byte{uint8(s.enc.Params().Bits), uint8(s.ModBits()), fb}, uint32(s.Len()))
}

// Pack frames a (masked) vector of Len() elements as a blob.
func (s *Secure) Pack(v []uint64) ([]byte, error) {
	if len(v) != s.Len() {
		return nil, fmt.Errorf("codec: vector has %d elements, want %d", len(v), s.Len())
	}
	h := &frame.Header{Codec: uint8(s.id), CodecVersion: uint8(s.cfg.Version), Dim: uint32(s.dim), Seed: seedID(s.cfg.Seed), Params: s.params()}
	B := s.ModBits()
	return frame.AppendFunc(nil, h, encode.PackedLen(len(v), B), func(p []byte) { encode.Pack(p[:0], v, B) })
}

// Unpack validates a blob against this round's codec and returns its
// vector. A blob for another codec, dimension, seed or parameters is
// rejected, so the aggregate never mixes rounds.
func (s *Secure) Unpack(blob []byte) ([]uint64, error) {
	payload, err := s.check(blob)
	if err != nil {
		return nil, err
	}
	v, err := encode.Unpack(nil, payload, s.Len(), s.ModBits())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return v, nil
}

// UnpackAdd validates a blob as Unpack does and adds its vector into sum
// (length Len()) modulo 2^ModBits(): the server's per-device step, without
// building the device's vector (encode.UnpackAdd). On error sum is
// unchanged.
func (s *Secure) UnpackAdd(sum []uint64, blob []byte) error {
	if len(sum) != s.Len() {
		return fmt.Errorf("codec: sum has %d elements, want %d", len(sum), s.Len())
	}
	payload, err := s.check(blob)
	if err != nil {
		return err
	}
	if err := encode.UnpackAdd(sum, payload, s.Len(), s.ModBits()); err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return nil
}

// check validates a blob's frame against this round and returns its
// packed payload.
func (s *Secure) check(blob []byte) ([]byte, error) {
	h, payload, err := frame.Parse(blob, uint32(s.dim))
	if err != nil {
		return nil, err
	}
	switch {
	case ID(h.Codec) != s.id:
		return nil, fmt.Errorf("%w: blob is %s, the round uses %s", ErrCorrupt, ID(h.Codec), s.id)
	case h.CodecVersion < 1 || h.CodecVersion > 3 || h.Flags != 0:
		return nil, fmt.Errorf("%w: %s version %d flags %#x unsupported", ErrCorrupt, s.id, h.CodecVersion, h.Flags)
	case s.id == IDSketch && (h.CodecVersion == 3) != (s.cfg.Version == 3):
		return nil, fmt.Errorf("%w: blob is sketch version %d, the round uses version %d (their hashes differ)", ErrCorrupt, h.CodecVersion, s.cfg.Version)
	case min(h.CodecVersion, 2) != min(uint8(s.cfg.Version), 2) && !s.versionsAgree():
		return nil, fmt.Errorf("%w: blob is %s version %d, the round uses version %d (their rotations differ)", ErrCorrupt, s.id, h.CodecVersion, s.cfg.Version)
	case int(h.Dim) != s.dim:
		return nil, fmt.Errorf("%w: blob has dimension %d, the round %d", ErrCorrupt, h.Dim, s.dim)
	case h.Seed != seedID(s.cfg.Seed):
		return nil, fmt.Errorf("%w: blob was encoded with another round's seed", ErrCorrupt)
	case string(h.Params) != string(s.params()):
		return nil, fmt.Errorf("%w: blob parameters %x differ from the round's %x", ErrCorrupt, h.Params, s.params())
	}
	return payload, nil
}

// versionsAgree reports whether versions 1 and 2 of this round lay out and
// decode vectors identically: they differ only in the encoder's rounding
// stream, unless the rotation of a non-power-of-two length is padded (1)
// or windowed (2).
func (s *Secure) versionsAgree() bool {
	if !s.cfg.Rotate {
		return true
	}
	n := s.enc.Params().Dim
	return n&(n-1) == 0
}

// DecodeSum decodes the unmasked modular sum of Len() elements into the
// estimate of Σ_j w_j·clip(x_j) (dim values; for
// "sketch", only the TopK recovered coordinates are non-zero) and the total
// weight Σ_j w_j. Divide by the total weight for the weighted mean.
func (s *Secure) DecodeSum(sum []uint64) ([]float32, uint64, error) {
	if len(sum) != s.Len() {
		return nil, 0, fmt.Errorf("codec: sum has %d elements, want %d", len(sum), s.Len())
	}
	if s.id == IDSketch {
		table, tw, err := s.tab.DecodeSum(sum)
		if err != nil {
			return nil, 0, fmt.Errorf("codec: %w", err)
		}
		return s.unsketch(table), tw, nil
	}
	v, tw, err := s.enc.DecodeSum(sum)
	if err != nil {
		return nil, 0, fmt.Errorf("codec: %w", err)
	}
	if s.sub == nil {
		return v, tw, nil
	}
	out := make([]float32, s.dim)
	for j, i := range s.sub {
		if s.cfg.Feedback {
			out[i] = v[j]
		} else {
			out[i] = v[j] * float32(s.strata[j])
		}
	}
	return out, tw, nil
}

// unsketch estimates every coordinate from table (real-valued counters)
// and returns the TopK largest in magnitude, zero elsewhere.
// sketch.EstimateTop keeps only the coordinates that can be among them
// (the same result as estimating all and selecting); the pooled buffer
// is its scratch (its sample, or all the estimates where it falls back).
func (s *Secure) unsketch(table []float32) []float32 {
	ep, _ := s.estPool.Get().(*[]float32)
	if ep == nil {
		ep = new([]float32)
		*ep = make([]float32, s.dim)
	}
	defer s.estPool.Put(ep)
	idx, val := s.sk.EstimateTop(table, s.cfg.TopK, (*ep)[:s.dim])
	out := make([]float32, s.dim)
	for j, i := range idx {
		out[i] = val[j]
	}
	return out
}
