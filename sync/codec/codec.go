// Package codec turns model updates and models into as few bytes as
// possible, and back.
//
// Every blob is self-describing (codec id and version, dimension, shapes,
// seed fingerprint, parameters, lengths, CRC-32C; see internal/frame) and
// every decoder validates it: a truncated, oversized, mislabelled or corrupt
// blob yields an error wrapping ErrCorrupt, never a panic, and no decoder
// allocates more than the dimension it was told to accept (WithMaxDim).
//
// Three families, chosen by Config.Codec:
//
//   - uploads without secure aggregation: "topk" (top-k sparsification with
//     error feedback, values as float32, bf16 or QSGD levels, zstd) and
//     "qsgd" (dense bucketed stochastic quantization, zstd). See Encoder.
//   - uploads with secure aggregation, which must stay linear: "secure"
//     (shared-coordinate subsampling, then secagg/encode's clip, rotation and
//     stochastic rounding into Z_2^B, bit-packed at B bits) and "sketch" (a
//     count sketch of the fixed-point vector in Z_2^B, unsketched with top-k
//     recovery on the server). See Secure.
//   - downloads: "float32", "bf16", "int8", each as a full snapshot or a
//     delta against a version the device holds, optionally zstd-compressed.
//     See Encoder.EncodeModel and DecodeModel.
//
// A Config is plain data that JSON-encodes into a round's plan.
package codec

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/murmur-fl/murmur/sync/codec/internal/frame"
)

// ErrCorrupt is wrapped by every error about a malformed blob.
var ErrCorrupt = frame.ErrCorrupt

// ErrConfig is wrapped by every error about an invalid Config.
var ErrConfig = errors.New("codec: invalid config")

// ErrBaseMismatch is returned by DecodeModel when a delta blob is relative
// to a version other than the one the caller holds: fetch a snapshot.
var ErrBaseMismatch = errors.New("codec: delta is against a model version the caller does not hold")

// ID identifies a codec on the wire.
type ID uint8

// Codec ids. Values are part of the wire format: never renumber.
const (
	IDFloat32  ID = 1
	IDBF16     ID = 2
	IDInt8     ID = 3
	IDTopK     ID = 4
	IDQSGD     ID = 5
	IDSecure   ID = 6
	IDSketch   ID = 7
	IDResidual ID = 15
)

var names = map[ID]string{
	IDFloat32: "float32", IDBF16: "bf16", IDInt8: "int8",
	IDTopK: "topk", IDQSGD: "qsgd", IDSecure: "secure", IDSketch: "sketch",
	IDResidual: "residual",
}

// String returns the codec's Config.Codec name.
func (id ID) String() string {
	if n, ok := names[id]; ok {
		return n
	}
	return fmt.Sprintf("codec(%d)", uint8(id))
}

// ParseID returns the id of a codec name.
func ParseID(name string) (ID, error) {
	for id, n := range names {
		if n == name && id != IDResidual {
			return id, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown codec %q", ErrConfig, name)
}

// Config selects and parameterises a codec. Zero fields take the defaults
// documented on them. It is shipped in the round's plan as JSON; the same
// Config must be used to encode and, for the secure codecs, to decode.
type Config struct {
	// Codec is one of "float32", "bf16", "int8", "topk", "qsgd", "secure",
	// "sketch".
	Codec string `json:"codec"`

	// Zstd compresses the payload of the download codecs ("topk" and
	// "qsgd" always entropy-code; the secure codecs never do: masked data
	// is random). Version 2 (the default) codes each 64 KiB chunk with
	// Huffman, or zstd where the chunk has long repeats; version 1 codes
	// the whole payload with zstd or Huffman, whichever is smaller (kept
	// for devices built before download version 2).
	Zstd bool `json:"zstd,omitempty"`

	// Bits per value. topk: 32 (float32, default), 16 (bf16) or 2..8 (QSGD
	// levels); qsgd: 2..8 (default 4); secure and sketch: the fixed-point
	// bits b, 2..32 (default 8). Ignored by the download codecs.
	Bits int `json:"bits,omitempty"`

	// Fraction of coordinates sent. topk: the kept fraction (default 0.01);
	// secure: the shared subsample (default 1, all coordinates).
	Fraction float64 `json:"fraction,omitempty"`

	// Bucket is how many consecutive values share one max-abs scale in QSGD
	// and int8 (default 512). Smaller buckets cost 32 bits per bucket but
	// follow heavy tails better.
	Bucket int `json:"bucket,omitempty"`

	// Secure aggregation parameters (secure, sketch); see secagg/encode.
	Clip       float64 `json:"clip,omitempty"`        // L2 clip of the whole update (required)
	Range      float64 `json:"range,omitempty"`       // per-coordinate range R (default: Clip; with Rotate, 6·Clip/sqrt(K), K the rotation block)
	Rotate     bool    `json:"rotate,omitempty"`      // seeded randomized Hadamard rotation (secure)
	MaxClients int     `json:"max_clients,omitempty"` // n, the most updates summed (required)
	MaxWeight  uint64  `json:"max_weight,omitempty"`  // largest per-device weight (default 1)
	ModBits    int     `json:"mod_bits,omitempty"`    // B (default: the least that never wraps)
	Seed       []byte  `json:"seed,omitempty"`        // the round's 32-byte shared seed

	// Version of the secure codecs' encoding (secure, sketch), or of the
	// compressed download layout (float32, bf16, int8 with Zstd). 0 means
	// the newest: 3 for the secure codecs, 4 for downloads; an older
	// version writes exactly that version's bytes. Downloads: version 4 is
	// 3 with a float32 delta's stored words cut to their significant bytes
	// (a 2-bit count each; bf16 and int8 as in 3); version 3 also sends a
	// delta as its changed coordinates and a bit mask where that is
	// smaller; 2 codes 64 KiB chunks (see Zstd); 1 the whole payload.
	// Devices built before a version reject its blobs: plan the oldest
	// version the devices of a round decode. Secure codecs: version 1 is
	// the original encoding; 2 rounds with a counter-based stream and
	// rotates without padding (secagg/encode version 2); 3 is 2 with, for
	// "secure", a subsample of exactly the fraction asked for (versions 1
	// and 2 keep the nearest power of two when rotating) and, for
	// "sketch", a cheaper hash (multiply-add-shift + fmix32, 1.4-1.9x
	// faster). Where two versions lay out the same vector (the same
	// subsample count and rotation windows) a round accepts blobs of both;
	// sketch blobs of version 3 and of 1 or 2 never mix. Older versions
	// stay so that rounds planned for older devices still work.
	Version int `json:"version,omitempty"`

	// Feedback ("secure" with Fraction < 1): devices send the kept
	// coordinates unscaled and keep the rest in a Residual for later rounds
	// (rand-k with error feedback; Secure.EncodeFeedback) instead of the
	// server scaling each kept coordinate by its stratum size (unbiased,
	// with about 1/Fraction times the variance). Measured on federated
	// Fashion-MNIST it learns much more slowly than the unbiased default
	// (about 1/Fraction of each update lands per round): see
	// .notes/codec.md.
	Feedback bool `json:"feedback,omitempty"`

	// Count sketch (sketch): Rows (default 5) × Cols (default 1% of the
	// dimension, at least 64) counters; TopK coordinates are recovered
	// (default Cols/2).
	Rows int `json:"rows,omitempty"`
	Cols int `json:"cols,omitempty"`
	TopK int `json:"topk,omitempty"`
}

// ID returns the codec id named by c.Codec.
func (c Config) ID() (ID, error) { return ParseID(c.Codec) }

const defaultBucket = 512

func (c Config) bucket() int {
	if c.Bucket == 0 {
		return defaultBucket
	}
	return c.Bucket
}

// Validate reports whether c is usable, naming the first bad field.
func (c Config) Validate() error {
	id, err := c.ID()
	if err != nil {
		return err
	}
	if c.Bucket < 0 || c.Bucket > 1<<20 {
		return fmt.Errorf("%w: bucket %d out of range 1..2^20", ErrConfig, c.Bucket)
	}
	if c.Feedback && id != IDSecure {
		return fmt.Errorf("%w: feedback is a secure-codec option (topk and qsgd take a Residual in Encoder.EncodeFeedback)", ErrConfig)
	}
	frac := func(def float64) error {
		if c.Fraction != 0 && !(c.Fraction > 0 && c.Fraction <= 1) {
			return fmt.Errorf("%w: fraction %v out of range (0, 1]", ErrConfig, c.Fraction)
		}
		return nil
	}
	switch id {
	case IDFloat32, IDBF16, IDInt8:
		if c.Version < 0 || c.Version > 4 {
			return fmt.Errorf("%w: %s version %d (want 1..4; 0 means 4)", ErrConfig, c.Codec, c.Version)
		}
	case IDTopK:
		if b := c.Bits; b != 0 && b != 32 && b != 16 && (b < 2 || b > 8) {
			return fmt.Errorf("%w: topk bits %d (want 32, 16 or 2..8)", ErrConfig, b)
		}
		return frac(0.01)
	case IDQSGD:
		if b := c.Bits; b != 0 && (b < 2 || b > 8) {
			return fmt.Errorf("%w: qsgd bits %d (want 2..8)", ErrConfig, b)
		}
	case IDSecure, IDSketch:
		if err := frac(1); err != nil {
			return err
		}
		if c.Bits != 0 && (c.Bits < 2 || c.Bits > 32) {
			return fmt.Errorf("%w: %s bits %d (want 2..32)", ErrConfig, c.Codec, c.Bits)
		}
		if !(c.Clip > 0) || math.IsInf(c.Clip, 0) {
			return fmt.Errorf("%w: %s needs a finite clip > 0 (got %v)", ErrConfig, c.Codec, c.Clip)
		}
		if c.MaxClients < 1 {
			return fmt.Errorf("%w: %s needs max_clients >= 1 (got %d)", ErrConfig, c.Codec, c.MaxClients)
		}
		if len(c.Seed) != 32 {
			return fmt.Errorf("%w: %s needs a 32-byte seed (got %d bytes)", ErrConfig, c.Codec, len(c.Seed))
		}
		if c.Version < 0 || c.Version > 3 {
			return fmt.Errorf("%w: %s version %d (want 1, 2 or 3; 0 means 3)", ErrConfig, c.Codec, c.Version)
		}
		if id == IDSketch && (c.Rows < 0 || c.Rows > 64 || c.Cols < 0 || c.TopK < 0) {
			return fmt.Errorf("%w: sketch rows %d (0..64), cols %d, topk %d must be >= 0", ErrConfig, c.Rows, c.Cols, c.TopK)
		}
	}
	return nil
}

// seedID is the 8-byte fingerprint of a round seed stored in the frame, so a
// blob from another round (or plan) is rejected rather than mis-decoded.
func seedID(seed []byte) uint64 {
	if len(seed) == 0 {
		return 0
	}
	h := sha256.Sum256(append([]byte("murmur/codec/seed-id/v1"), seed...))
	return binary.LittleEndian.Uint64(h[:])
}

// Info is what a blob's header says about it.
type Info struct {
	Codec  ID
	Dim    int
	Shapes [][]uint32
	// Version and BaseVersion: model version of a download blob, and the
	// version a delta applies to (0 for a snapshot).
	Version, BaseVersion uint64
}

// DecodeOption bounds what a decoder accepts.
type DecodeOption func(*decodeOpts)

type decodeOpts struct {
	maxDim uint32
	dim    int // exact expected dim; -1 = any
}

// DefaultMaxDim is the largest dimension decoders accept unless told
// otherwise: 16M coordinates (64 MiB of float32).
const DefaultMaxDim = 1 << 24

// WithMaxDim accepts blobs of up to n coordinates (default DefaultMaxDim).
func WithMaxDim(n int) DecodeOption {
	return func(o *decodeOpts) { o.maxDim = uint32(min(max(n, 0), math.MaxUint32)) }
}

// WithDim accepts only blobs of exactly n coordinates (the model's size).
func WithDim(n int) DecodeOption {
	return func(o *decodeOpts) {
		o.dim = n
		if n >= 0 && n <= math.MaxUint32 {
			o.maxDim = uint32(n)
		}
	}
}

func parse(blob []byte, opts []DecodeOption) (frame.Header, []byte, error) {
	o := decodeOpts{maxDim: DefaultMaxDim, dim: -1}
	for _, f := range opts {
		f(&o)
	}
	h, payload, err := frame.Parse(blob, o.maxDim)
	if err != nil {
		return h, nil, err
	}
	if o.dim >= 0 && int(h.Dim) != o.dim {
		return h, nil, fmt.Errorf("%w: blob has dimension %d, want %d", ErrCorrupt, h.Dim, o.dim)
	}
	if _, ok := names[ID(h.Codec)]; !ok {
		return h, nil, fmt.Errorf("%w: unknown codec id %d", ErrCorrupt, h.Codec)
	}
	return h, payload, nil
}

// Inspect validates blob's frame and returns its header fields.
func Inspect(blob []byte, opts ...DecodeOption) (Info, error) {
	h, _, err := parse(blob, opts)
	if err != nil {
		return Info{}, err
	}
	info := Info{Codec: ID(h.Codec), Dim: int(h.Dim), Shapes: h.Shapes}
	if dense(ID(h.Codec)) {
		p, err := parseDenseParams(h)
		if err != nil {
			return Info{}, err
		}
		info.Version, info.BaseVersion = p.version, p.base
	}
	return info, nil
}

// Decode decodes a self-contained blob ("topk", "qsgd", or a download
// snapshot) into a dense vector. Secure-path blobs need their round's
// Config: use Secure.Unpack. Delta downloads need their base: DecodeModel.
func Decode(blob []byte, opts ...DecodeOption) ([]float32, error) {
	h, payload, err := parse(blob, opts)
	if err != nil {
		return nil, err
	}
	out := make([]float32, h.Dim)
	if err := decodeInto(out, h, payload, 1, false); err != nil {
		return nil, err
	}
	return out, nil
}

// Accumulate adds weight × the decoded blob into dst (len(dst) must equal
// the blob's dimension) without allocating a dense vector for sparse
// codecs: the server's aggregation loop.
func Accumulate(dst []float32, blob []byte, weight float32) error {
	h, payload, err := parse(blob, []DecodeOption{WithDim(len(dst))})
	if err != nil {
		return err
	}
	return decodeInto(dst, h, payload, weight, true)
}

func decodeInto(dst []float32, h frame.Header, payload []byte, w float32, add bool) error {
	switch ID(h.Codec) {
	case IDTopK:
		return decodeTopK(dst, h, payload, w, add)
	case IDQSGD:
		return decodeQSGD(dst, h, payload, w, add)
	case IDFloat32, IDBF16, IDInt8:
		p, err := parseDenseParams(h)
		if err != nil {
			return err
		}
		if p.base != 0 {
			return fmt.Errorf("%w: blob is a delta against version %d; use DecodeModel", ErrBaseMismatch, p.base)
		}
		return decodeDense(dst, h, p, payload, nil, w, add)
	case IDSecure, IDSketch:
		return fmt.Errorf("%w: a %s blob holds a masked vector; decode it with Secure.Unpack and Secure.DecodeSum", ErrConfig, ID(h.Codec))
	default:
		return fmt.Errorf("%w: codec %s is not an update or model blob", ErrCorrupt, ID(h.Codec))
	}
}

func shapesU32(shapes [][]int) ([][]uint32, error) {
	if len(shapes) == 0 {
		return nil, nil
	}
	out := make([][]uint32, len(shapes))
	for i, s := range shapes {
		out[i] = make([]uint32, len(s))
		for j, d := range s {
			if d < 1 || d > math.MaxUint32 {
				return nil, fmt.Errorf("%w: shape %d dimension %d out of range", ErrConfig, i, d)
			}
			out[i][j] = uint32(d)
		}
	}
	return out, nil
}
