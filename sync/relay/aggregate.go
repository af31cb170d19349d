package relay

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"unsafe"
)

// ErrBadUpdate wraps every reason an update is refused by the aggregator.
var ErrBadUpdate = errors.New("relay: bad update")

// UpdateDecoder turns an uploaded update into a dense delta of length dim
// (new local params minus the global params the device started from). The
// default, RawFloat32, reads little-endian float32; sync/codec plugs in here.
type UpdateDecoder func(payload []byte, dim int, dst []float32) ([]float32, error)

// RawFloat32 decodes dim little-endian float32 values.
func RawFloat32(payload []byte, dim int, dst []float32) ([]float32, error) {
	if len(payload) != 4*dim {
		return nil, fmt.Errorf("%w: %d bytes, want %d (dim %d float32)", ErrBadUpdate, len(payload), 4*dim, dim)
	}
	dst = slices.Grow(dst[:0], dim)[:dim]
	if littleEndian {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(dst))), 4*dim), payload)
	} else {
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(payload[4*i:]))
		}
	}
	return dst, nil
}

var littleEndian = func() bool { x := uint16(1); return *(*byte)(unsafe.Pointer(&x)) == 1 }()

// EncodeFloat32 is RawFloat32's inverse (used for model blobs and tests).
func EncodeFloat32(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// checkFinite rejects NaN and Inf: one poisoned update would poison the model.
func checkFinite(v []float32) error {
	// Branch-light scan: OR together "exponent all ones" flags in blocks,
	// then locate the culprit only if a block has one.
	const block = 256
	for lo := 0; lo < len(v); lo += block {
		hi := min(lo+block, len(v))
		bad := uint32(0)
		for _, x := range v[lo:hi] {
			b := math.Float32bits(x) & 0x7f800000
			bad |= (b + 0x00800000) & 0x80000000 // carries into bit 31 only when b == 0x7f800000
		}
		if bad != 0 {
			for i, x := range v[lo:hi] {
				if math.Float32bits(x)&0x7f800000 == 0x7f800000 {
					return fmt.Errorf("%w: coordinate %d is %v", ErrBadUpdate, lo+i, x)
				}
			}
		}
	}
	return nil
}

// Rule combines a round's validated deltas into one. Add is called exactly
// once per counted update; implementations need not be safe for concurrent
// use (the round serialises calls).
type Rule interface {
	Add(delta []float32, weight float64)
	Count() int
	// Result returns the combined delta (nil if nothing was added).
	Result() []float32
}

// RuleConfig picks the aggregation rule.
type RuleConfig struct {
	// Name is "mean" (weighted FedAvg; the default), "median" (coordinate
	// median) or "trimmed" (coordinate trimmed mean). The robust rules keep
	// every update in memory and are for plaintext mode only.
	Name string `json:"name,omitempty"`
	// Trim is the fraction cut from each end for "trimmed" (default 0.1).
	Trim float64 `json:"trim,omitempty"`
}

// NewRule returns the rule for dim coordinates.
func NewRule(c RuleConfig, dim int) (Rule, error) {
	switch c.Name {
	case "", "mean":
		return &meanRule{sum: make([]float64, dim)}, nil
	case "median":
		return &sortRule{dim: dim}, nil
	case "trimmed":
		t := c.Trim
		if t == 0 {
			t = 0.1
		}
		if t < 0 || t >= 0.5 {
			return nil, fmt.Errorf("relay: trimmed mean fraction %v not in [0, 0.5)", c.Trim)
		}
		return &sortRule{dim: dim, trim: t}, nil
	}
	return nil, fmt.Errorf("relay: unknown aggregation rule %q (want mean, median or trimmed)", c.Name)
}

// meanRule is weighted FedAvg with float64 accumulators, split across
// goroutines for large models.
type meanRule struct {
	sum []float64
	w   float64
	n   int
}

func (r *meanRule) Add(d []float32, w float64) {
	parallel(len(d), func(lo, hi int) {
		s := r.sum[lo:hi]
		for i, x := range d[lo:hi] {
			s[i] += w * float64(x)
		}
	})
	r.w += w
	r.n++
}

func (r *meanRule) Count() int { return r.n }

func (r *meanRule) Result() []float32 {
	if r.n == 0 || r.w == 0 {
		return nil
	}
	out := make([]float32, len(r.sum))
	for i, s := range r.sum {
		out[i] = float32(s / r.w)
	}
	return out
}

// sortRule is coordinate median (trim == 0) or trimmed mean; unweighted,
// as robust rules must not let one device buy influence with a big weight.
type sortRule struct {
	dim  int
	trim float64
	ups  [][]float32
}

func (r *sortRule) Add(d []float32, _ float64) { r.ups = append(r.ups, slices.Clone(d)) }
func (r *sortRule) Count() int                 { return len(r.ups) }

func (r *sortRule) Result() []float32 {
	n := len(r.ups)
	if n == 0 {
		return nil
	}
	out := make([]float32, r.dim)
	parallel(r.dim, func(lo, hi int) {
		col := make([]float32, n)
		for j := lo; j < hi; j++ {
			for k, u := range r.ups {
				col[k] = u[j]
			}
			slices.Sort(col)
			if r.trim == 0 {
				if n%2 == 1 {
					out[j] = col[n/2]
				} else {
					out[j] = (col[n/2-1] + col[n/2]) / 2
				}
				continue
			}
			cut := int(r.trim * float64(n))
			var s float64
			for _, x := range col[cut : n-cut] {
				s += float64(x)
			}
			out[j] = float32(s / float64(n-2*cut))
		}
	})
	return out
}

// parallel splits [0, n) across a few goroutines when n is large enough
// for that to pay.
func parallel(n int, f func(lo, hi int)) {
	const minPer = 1 << 15
	parts := min(n/minPer, 4)
	if parts <= 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	step := (n + parts - 1) / parts
	for lo := 0; lo < n; lo += step {
		hi := min(lo+step, n)
		wg.Add(1)
		go func() { defer wg.Done(); f(lo, hi) }()
	}
	wg.Wait()
}

// Aggregator is the plaintext aggregation path exactly as a round runs it:
// decode an update, reject NaN/Inf and wrong lengths, add it to the rule
// with its weight. Not safe for concurrent use.
type Aggregator struct {
	rule   Rule
	dim    int
	decode UpdateDecoder
	raw    bool // decode is RawFloat32
}

// NewAggregator returns an aggregator for dim-long deltas (decode nil:
// RawFloat32).
func NewAggregator(c RuleConfig, dim int, decode UpdateDecoder) (*Aggregator, error) {
	r, err := NewRule(c, dim)
	if err != nil {
		return nil, err
	}
	raw := decode == nil
	if raw {
		decode = RawFloat32
	}
	return &Aggregator{rule: r, dim: dim, decode: decode, raw: raw}, nil
}

// Validate decodes and checks an update without counting it; the
// returned delta may alias payload. Safe for concurrent use, so rounds
// validate uploads in parallel and only count them under their lock.
func (a *Aggregator) Validate(payload []byte) ([]float32, error) {
	if a.raw && littleEndian && len(payload) == 4*a.dim && len(payload) > 0 &&
		uintptr(unsafe.Pointer(unsafe.SliceData(payload)))%4 == 0 {
		// The default codec: read the payload in place, no decoded copy.
		v := unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(payload))), a.dim)
		return v, checkFiniteParallel(v)
	}
	v, err := a.decode(payload, a.dim, nil)
	if err != nil {
		return nil, err
	}
	if len(v) != a.dim {
		return nil, fmt.Errorf("%w: %d coordinates, model has %d", ErrBadUpdate, len(v), a.dim)
	}
	return v, checkFiniteParallel(v)
}

// Add validates the update and counts it with the given weight.
func (a *Aggregator) Add(payload []byte, weight float64) error {
	v, err := a.Validate(payload)
	if err != nil {
		return err
	}
	return a.AddDelta(v, weight)
}

// AddDelta counts a validated delta.
func (a *Aggregator) AddDelta(v []float32, weight float64) error {
	if weight < 0 || math.IsNaN(weight) || math.IsInf(weight, 0) {
		return fmt.Errorf("%w: weight %v", ErrBadUpdate, weight)
	}
	a.rule.Add(v, weight)
	return nil
}

// checkFiniteParallel is checkFinite split across goroutines.
func checkFiniteParallel(v []float32) error {
	var mu sync.Mutex
	var first error
	parallel(len(v), func(lo, hi int) {
		if err := checkFinite(v[lo:hi]); err != nil {
			mu.Lock()
			if first == nil {
				first = fmt.Errorf("%w (in coordinates from %d)", err, lo)
			}
			mu.Unlock()
		}
	})
	return first
}

// Count returns how many updates were added.
func (a *Aggregator) Count() int { return a.rule.Count() }

// Weight returns the total weight behind Result: the sum of the weights
// for the mean, the number of updates for the robust rules.
func (a *Aggregator) Weight() float64 {
	if m, ok := a.rule.(*meanRule); ok {
		return m.w
	}
	return float64(a.rule.Count())
}

// Result returns the combined delta (nil when nothing was added).
func (a *Aggregator) Result() []float32 { return a.rule.Result() }
