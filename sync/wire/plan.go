package wire

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/murmur-fl/murmur/secagg"
	"github.com/murmur-fl/murmur/sync/codec"
)

// Plan is the JSON carried in Task.Plan: the round's training plan. The
// protocol only hashes it; the device agent reads it and the relay's
// operator fills it.
type Plan struct {
	Model      json.RawMessage `json:"model,omitempty"`     // model spec
	Optimizer  json.RawMessage `json:"optimizer,omitempty"` // client optimizer (lr, FedProx mu, ...)
	LocalSteps int             `json:"local_steps,omitempty"`
	BatchSize  int             `json:"batch_size,omitempty"`
	Codec      json.RawMessage `json:"codec,omitempty"`  // update/model codec config (sync/codec)
	SecAgg     *SecAggPlan     `json:"secagg,omitempty"` // nil: plaintext round
	Core       string          `json:"core,omitempty"`   // SHA-256 (hex) of the training core module
	Extra      json.RawMessage `json:"extra,omitempty"`
}

// SecAggPlan holds the secure-aggregation parameters every participant and
// the relay derive the same secagg.Params and encoder from (Setup). The
// device's client id is Task.Index and n is Task.Participants.
type SecAggPlan struct {
	Bits      int     `json:"bits"`                 // quantization bits b (2..32)
	ClipNorm  float64 `json:"clip_norm"`            // L2 clip of each update
	MaxWeight uint64  `json:"max_weight,omitempty"` // largest example count (weights are clamped to it); default 1
	Rotate    bool    `json:"rotate,omitempty"`     // seeded randomized Hadamard rotation
	Seed      Hash    `json:"seed,omitempty"`       // rotation seed
	Degree    int     `json:"degree,omitempty"`     // neighbours K (0: secagg.DefaultGraph)
	Threshold int     `json:"threshold,omitempty"`  // T (0: secagg.DefaultGraph)
	// Fraction of the coordinates each round sends (a subsample shared by
	// all participants; 0 or 1: all). 0.1 sends a tenth: about 10x less
	// upload on top of the B-bit packing.
	Fraction float64 `json:"fraction,omitempty"`
	// Feedback keeps the coordinates a device did not send in its local
	// residual for later rounds (rand-k with error feedback) instead of the
	// relay scaling the sent ones up (unbiased, higher variance).
	Feedback bool `json:"feedback,omitempty"`
	// WeightUnit is how many examples make one unit of a device's weight
	// (default 1: the weight is the example count). Coarser units keep the
	// weight coordinate, and so B, small at low bit widths.
	WeightUnit uint64 `json:"weight_unit,omitempty"`
	// Dropout is the fraction of participants the round must survive
	// losing at any stage; the neighbour graph is chosen for it
	// (secagg.GraphFor). Default 0: secagg.DefaultGraph.
	Dropout float64 `json:"dropout,omitempty"`
	// CodecVersion pins the secure codec's version (sync/codec
	// Config.Version; 0: the newest this build knows). A relay that pins it
	// keeps devices of different builds encoding alike.
	CodecVersion int `json:"codec_version,omitempty"`
}

// Weight is the FedAvg weight a device with that many examples sends:
// examples / WeightUnit, rounded to nearest, at least 1, at most MaxWeight.
func (p *SecAggPlan) Weight(examples uint64) uint64 {
	u := max(p.WeightUnit, 1)
	w := max((examples+u/2)/u, 1)
	return min(w, max(p.MaxWeight, 1))
}

// Setup returns the round's SecAgg+ parameters and the linear encoder
// (sync/codec's "secure" codec: clip, the round's shared subsample of
// Fraction of the coordinates, optional rotation, stochastic rounding into
// Z_2^B) for n participants and a dim-long update. The subsample and the
// rotation are seeded from Seed and the round, so they change every round
// and every participant and the relay derive the same ones.
func (p *SecAggPlan) Setup(round uint64, n, dim int) (secagg.Params, *codec.Secure, error) {
	h := sha256.New()
	h.Write(p.Seed[:])
	h.Write(binary.LittleEndian.AppendUint64(nil, round))
	frac := p.Fraction
	if frac == 0 {
		frac = 1
	}
	enc, err := codec.NewSecure(codec.Config{Codec: "secure", Bits: p.Bits, Clip: p.ClipNorm, Fraction: frac,
		Rotate: p.Rotate, MaxClients: n, MaxWeight: max(p.MaxWeight, 1), Seed: h.Sum(nil), Feedback: p.Feedback,
		Version: p.CodecVersion}, dim)
	if err != nil {
		return secagg.Params{}, nil, fmt.Errorf("secagg plan: %w", err)
	}
	k, t := secagg.GraphFor(n, p.Dropout)
	if p.Degree > 0 {
		k = p.Degree
	}
	if p.Threshold > 0 {
		t = p.Threshold
	}
	sp := secagg.Params{RoundID: round, N: n, Threshold: t, Degree: k, ModBits: enc.ModBits(), Len: enc.Len()}
	if err := sp.Validate(); err != nil {
		return sp, nil, fmt.Errorf("secagg plan: %w", err)
	}
	return sp, enc, nil
}
