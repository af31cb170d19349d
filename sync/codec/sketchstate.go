package codec

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/murmur-fl/murmur/sync/codec/internal/frame"
	"github.com/murmur-fl/murmur/sync/codec/internal/quant"
)

// SketchState is the server's error accumulation for the "sketch" codec
// (FetchSGD, Rothchild et al. 2020): summed sketches are added to a
// real-valued sketch, the TopK coordinates are extracted from it, and their
// sketch is subtracted, so what was not extracted this round stays for the
// next instead of being lost. It needs the same sketch (Config.Seed, Rows,
// Cols, dimension) every round. Persist it with MarshalBinary.
type SketchState struct {
	s     *Secure
	table []float32
}

// NewSketchState returns an empty state for a "sketch" Secure.
func (s *Secure) NewSketchState() (*SketchState, error) {
	if s.id != IDSketch {
		return nil, fmt.Errorf("%w: sketch state needs the sketch codec, not %s", ErrConfig, s.id)
	}
	return &SketchState{s: s, table: make([]float32, s.sk.Len())}, nil
}

// Add decodes the round's unmasked modular sum of sketches and adds scale
// times it (for example the server learning rate over the total weight)
// into the state. It returns the total weight the sum carried.
func (st *SketchState) Add(sum []uint64, scale float32) (uint64, error) {
	if len(sum) != st.s.Len() {
		return 0, fmt.Errorf("codec: sum has %d elements, want %d", len(sum), st.s.Len())
	}
	t, tw, err := st.s.tab.DecodeSum(sum)
	if err != nil {
		return 0, fmt.Errorf("codec: %w", err)
	}
	for i, v := range t {
		st.table[i] += scale * v
	}
	return tw, nil
}

// Extract returns the TopK coordinates estimated from the state (a dense
// vector, zero elsewhere) and removes them from the state.
func (st *SketchState) Extract() []float32 {
	out := st.s.unsketch(st.table)
	st.s.sk.AddFloat(st.table, out, -1)
	return out
}

// MarshalBinary encodes the state as a frame (codec "sketch", the seed id,
// params rows and cols, payload the float32 counters).
func (st *SketchState) MarshalBinary() ([]byte, error) {
	payload := make([]byte, 4*len(st.table))
	for i, v := range st.table {
		binary.LittleEndian.PutUint32(payload[4*i:], math.Float32bits(v))
	}
	h := &frame.Header{Codec: uint8(IDSketch), CodecVersion: st.version(), Flags: flagState, Dim: uint32(st.s.dim), Seed: seedID(st.s.cfg.Seed), Params: st.stateParams()}
	return frame.Append(nil, h, payload)
}

// version is the state frame's codec version: 1 for the hash of sketch
// versions 1 and 2, 3 for version 3's (a state holds hashed counters, so
// it only fits a sketch with the same hash).
func (st *SketchState) version() uint8 {
	if st.s.sk.V3() {
		return 3
	}
	return 1
}

// flagState marks a SketchState blob (never a device upload).
const flagState = 1 << 15

func (st *SketchState) stateParams() []byte {
	return appendU32(appendU32(nil, uint32(st.s.cfg.Rows)), uint32(st.s.cfg.Cols))
}

// UnmarshalBinary restores a state saved by MarshalBinary for the same
// sketch; on error the state is unchanged.
func (st *SketchState) UnmarshalBinary(b []byte) error {
	h, payload, err := frame.Parse(b, uint32(st.s.dim))
	if err != nil {
		return err
	}
	if ID(h.Codec) != IDSketch || h.Flags != flagState || h.CodecVersion != st.version() || int(h.Dim) != st.s.dim ||
		h.Seed != seedID(st.s.cfg.Seed) || string(h.Params) != string(st.stateParams()) {
		return fmt.Errorf("%w: not a sketch state for this sketch", ErrCorrupt)
	}
	if len(payload) != 4*len(st.table) {
		return fmt.Errorf("%w: sketch state has %d bytes, want %d", ErrCorrupt, len(payload), 4*len(st.table))
	}
	t := make([]float32, len(st.table))
	for i := range t {
		t[i] = math.Float32frombits(binary.LittleEndian.Uint32(payload[4*i:]))
		if !quant.Finite(t[i]) {
			return fmt.Errorf("%w: sketch state counter %d is %v", ErrCorrupt, i, t[i])
		}
	}
	st.table = t
	return nil
}
