package codec

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/murmur-fl/murmur/sync/codec/internal/frame"
	"github.com/murmur-fl/murmur/sync/codec/internal/quant"
	"github.com/murmur-fl/murmur/sync/codec/internal/zst"
)

// Residual is a device's error-feedback state: what earlier uploads left
// unsent. It belongs in the device checkpoint (MarshalBinary) so a restart
// does not drop it. The zero value is an empty residual.
type Residual struct {
	v []float32
}

// Values returns the residual (aliased; nil when empty).
func (r *Residual) Values() []float32 { return r.v }

// Reset empties the residual (for example when the model shape changes).
func (r *Residual) Reset() { r.v = nil }

// MarshalBinary encodes the residual exactly, as a framed "residual" blob
// (float32 byte planes, zstd).
func (r *Residual) MarshalBinary() ([]byte, error) {
	raw := make([]byte, 4*len(r.v))
	for i, v := range r.v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	sh := make([]byte, len(raw))
	quant.Shuffle(sh, raw, 4)
	payload := zst.Append(nil, sh)
	if uint64(len(r.v)) > math.MaxUint32 {
		return nil, fmt.Errorf("codec: residual of %d values is too long", len(r.v))
	}
	return frame.Append(nil, &frame.Header{Codec: uint8(IDResidual), CodecVersion: 1, Dim: uint32(len(r.v))}, payload)
}

// UnmarshalBinary restores a residual written by MarshalBinary. Residuals
// over DefaultMaxDim values are rejected; on error r is unchanged.
func (r *Residual) UnmarshalBinary(blob []byte) error {
	h, payload, err := frame.Parse(blob, DefaultMaxDim)
	if err != nil {
		return err
	}
	if ID(h.Codec) != IDResidual || h.CodecVersion != 1 || h.Flags != 0 || len(h.Params) != 0 {
		return fmt.Errorf("%w: not a version 1 residual blob (codec %s)", ErrCorrupt, ID(h.Codec))
	}
	sh, err := zst.Decode(payload, 4*int(h.Dim))
	if err != nil {
		return fmt.Errorf("residual: %w", err)
	}
	raw := make([]byte, len(sh))
	quant.Unshuffle(raw, sh, 4)
	v := make([]float32, h.Dim)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		if !quant.Finite(v[i]) {
			return fmt.Errorf("%w: residual coordinate %d is %v", ErrCorrupt, i, v[i])
		}
	}
	if len(v) == 0 {
		v = nil
	}
	r.v = v
	return nil
}
