package codec

import (
	"fmt"
	"math/rand/v2"

	"github.com/murmur-fl/murmur/secagg/encode"
)

// RoundResult is what SimulateRound returns.
type RoundResult struct {
	// Sum is the server's decoded Σ_j w_j·update_j (for the secure codecs,
	// of the clipped updates, as SecAgg's unmasked sum gives it).
	Sum []float32
	// Weight is Σ_j w_j: divide Sum by it for the weighted mean.
	Weight uint64
	// Bytes is each device's upload size in bytes.
	Bytes []int
}

// SimulateRound runs one round's upload path for cfg without the network
// or the masks (masks cancel in the sum): every device encodes its update,
// the server decodes and sums the blobs (plain codecs) or sums the
// vectors mod 2^B and decodes the sum (secure codecs). It is what the
// simulator needs to measure a codec's effect on accuracy.
//
// weights may be nil (all 1). residuals, when not nil, holds one Residual
// per device for the codecs that use error feedback ("topk", "qsgd", and
// "secure" with Feedback), kept by the caller across rounds. seed drives
// the rounding randomness. For "secure" and "sketch", cfg.Seed should
// change every round, as the relay's plans do.
func SimulateRound(cfg Config, updates [][]float32, weights []uint64, residuals []*Residual, seed uint64) (RoundResult, error) {
	var res RoundResult
	if len(updates) == 0 {
		return res, fmt.Errorf("codec: no updates")
	}
	if weights != nil && len(weights) != len(updates) {
		return res, fmt.Errorf("codec: %d weights for %d updates", len(weights), len(updates))
	}
	if residuals != nil && len(residuals) != len(updates) {
		return res, fmt.Errorf("codec: %d residuals for %d updates", len(residuals), len(updates))
	}
	w := func(j int) uint64 {
		if weights == nil {
			return 1
		}
		return weights[j]
	}
	d := len(updates[0])
	id, err := cfg.ID()
	if err != nil {
		return res, err
	}
	if id == IDSecure || id == IDSketch {
		s, err := NewSecure(cfg, d)
		if err != nil {
			return res, err
		}
		sum := make([]uint64, s.Len())
		for j, x := range updates {
			rng := rand.NewPCG(seed, uint64(j))
			var v []uint64
			if cfg.Feedback {
				if residuals == nil {
					return res, fmt.Errorf("codec: feedback needs residuals")
				}
				v, err = s.EncodeFeedback(nil, x, w(j), rng, residuals[j])
			} else {
				v, err = s.Encode(nil, x, w(j), rng)
			}
			if err != nil {
				return res, fmt.Errorf("device %d: %w", j, err)
			}
			blob, err := s.Pack(v)
			if err != nil {
				return res, err
			}
			res.Bytes = append(res.Bytes, len(blob))
			if v, err = s.Unpack(blob); err != nil {
				return res, err
			}
			encode.AddMod(sum, v, s.ModBits())
		}
		res.Sum, res.Weight, err = s.DecodeSum(sum)
		return res, err
	}
	res.Sum = make([]float32, d)
	for j, x := range updates {
		e, err := NewEncoder(cfg, WithRand(rand.NewPCG(seed, uint64(j))))
		if err != nil {
			return res, err
		}
		var blob []byte
		if residuals != nil && (id == IDTopK || id == IDQSGD) {
			blob, err = e.EncodeFeedback(x, residuals[j])
		} else {
			blob, err = e.Encode(x)
		}
		if err != nil {
			return res, fmt.Errorf("device %d: %w", j, err)
		}
		res.Bytes = append(res.Bytes, len(blob))
		if err := Accumulate(res.Sum, blob, float32(w(j))); err != nil {
			return res, err
		}
		res.Weight += w(j)
	}
	return res, nil
}
