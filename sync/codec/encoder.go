package codec

import (
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"math/rand/v2"

	"github.com/murmur-fl/murmur/sync/codec/internal/frame"
)

// Encoder encodes updates and models with one plain (non-secure) codec. It
// keeps scratch buffers and a private random source for stochastic rounding,
// so it is not safe for concurrent use; make one per goroutine.
type Encoder struct {
	id     ID
	cfg    Config
	rng    *rand.Rand
	shapes [][]uint32

	idx     []uint32
	scratch []float32
	buf     []byte
	buf2    []byte
	buf3    []byte
}

// Option configures an Encoder.
type Option func(*Encoder) error

// WithRand makes stochastic rounding draw from src (for reproducible tests
// and simulations); by default a ChaCha8 source seeded from crypto/rand.
func WithRand(src rand.Source) Option {
	return func(e *Encoder) error { e.rng = rand.New(src); return nil }
}

// WithShapes records the tensor shapes of the flat vector in every blob
// (their element counts must sum to the vector's length).
func WithShapes(shapes [][]int) Option {
	return func(e *Encoder) (err error) { e.shapes, err = shapesU32(shapes); return err }
}

// NewEncoder returns an Encoder for cfg, whose codec must be "topk",
// "qsgd", "float32", "bf16" or "int8" (the secure codecs use NewSecure).
func NewEncoder(cfg Config, opts ...Option) (*Encoder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	id, _ := cfg.ID()
	if id == IDSecure || id == IDSketch {
		return nil, fmt.Errorf("%w: codec %q needs NewSecure", ErrConfig, cfg.Codec)
	}
	e := &Encoder{id: id, cfg: cfg}
	for _, o := range opts {
		if err := o(e); err != nil {
			return nil, err
		}
	}
	if e.rng == nil {
		var seed [32]byte
		if _, err := crand.Read(seed[:]); err != nil {
			return nil, fmt.Errorf("codec: seeding the rounding source: %w", err)
		}
		e.rng = rand.New(rand.NewChaCha8(seed))
	}
	return e, nil
}

// Config returns the encoder's configuration.
func (e *Encoder) Config() Config { return e.cfg }

// Encode encodes x without error feedback ("topk", "qsgd") or as a model
// snapshot at version 0 (download codecs).
func (e *Encoder) Encode(x []float32) ([]byte, error) {
	switch e.id {
	case IDTopK, IDQSGD:
		return e.encodeUpdate(x, nil)
	default:
		return e.EncodeModel(x, 0, nil, 0)
	}
}

// EncodeFeedback encodes x plus the residual r carried from earlier rounds
// and leaves in r what this blob did not transmit (error feedback: dropped
// coordinates and rounding error are sent later instead of lost). r may be
// empty (a fresh device); it must otherwise match len(x). Persist r with
// the device's checkpoint (Residual.MarshalBinary).
func (e *Encoder) EncodeFeedback(x []float32, r *Residual) ([]byte, error) {
	if e.id != IDTopK && e.id != IDQSGD {
		return nil, fmt.Errorf("%w: error feedback applies to topk and qsgd, not %s", ErrConfig, e.id)
	}
	if r == nil {
		return nil, fmt.Errorf("codec: EncodeFeedback needs a residual")
	}
	return e.encodeUpdate(x, r)
}

func (e *Encoder) header(params []byte, dim int) (*frame.Header, error) {
	if uint64(dim) > 0xFFFFFFFF {
		return nil, fmt.Errorf("codec: vector of %d values is too long", dim)
	}
	return &frame.Header{Codec: uint8(e.id), CodecVersion: 1, Dim: uint32(dim), Shapes: e.shapes, Params: params}, nil
}

func appendU32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
func appendU64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }

func growF32(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func growBytes(s []byte, n int) []byte {
	if cap(s) < n {
		return make([]byte, n)
	}
	return s[:n]
}
