// Package train is the device-side training state machine: a model, its
// optimizer, the round's global parameters, the local data and the shuffle
// cursor, with checkpoints of all of it.
//
// It is the one implementation behind every Trainer: the wasm core
// (wasm/core) exposes it through the ABI, and host/agent's NativeTrainer
// links it directly; so native and wasm training agree bit for bit when
// they use the same kernels.
package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"unsafe"

	"github.com/murmur-fl/murmur/runtime/kernels"
	"github.com/murmur-fl/murmur/runtime/nn"
	"github.com/murmur-fl/murmur/runtime/optim"
	"github.com/murmur-fl/murmur/runtime/tensor"
)

// Errors, wrapped with detail by every method.
var (
	// ErrInput: the caller passed something malformed.
	ErrInput = errors.New("train: bad input")
	// ErrState: the call came out of order (no model, no data, no round).
	ErrState = errors.New("train: call out of order")
)

// Slots name the two data sets a session holds.
const (
	TrainSlot = 0
	EvalSlot  = 1
)

// Stats reports a Train or Evaluate call.
type Stats struct {
	Loss     float32 // mean loss per label
	Accuracy float32 // top-1
	Top3     float32
	Examples int
	Steps    int
}

// Session holds one device's training state. It is not safe for
// concurrent use.
type Session struct {
	spec     nn.Spec
	specHash [32]byte
	model    *nn.Model
	opt      *optim.Optimizer
	optJSON  []byte
	global   []float32
	update   []float32
	slots    [2]slot
	// The shuffle cursor over the training slot: the current epoch's order,
	// the position in it, the seed it was made from and the generator state.
	seed    uint64
	seeded  bool
	order   []int32 // int32: the batch gather hands it to kernels.EmbedGather
	pos     int
	rng     tensor.RNG
	batch   nn.Batch
	evalBuf nn.Batch
	losses  [queuedSteps]float32 // the losses of the steps in flight
}

// queuedSteps is how many training steps run before their losses are read
// (kernels.Sync): with the wasm core's batching backend, the kernels of
// several steps reach the host in one call and the guest's own code runs
// with warm caches between them.
const queuedSteps = 32

type slot struct {
	x      []float32
	tokens []int32
	labels []int32
	n      int
}

// New builds a session for spec with parameters initialised from seed.
func New(spec nn.Spec, seed uint64) (*Session, error) {
	m, err := nn.Build(spec, seed)
	if err != nil {
		return nil, err
	}
	s := &Session{spec: spec, model: m, specHash: sha256.Sum256(spec.JSON())}
	s.global = make([]float32, len(m.Params()))
	copy(s.global, m.Params())
	return s, nil
}

// Model returns the session's model (its Params buffer is the one to read
// and write).
func (s *Session) Model() *nn.Model { return s.model }

// Params is the model's flat parameter buffer (not a copy).
func (s *Session) Params() []float32 { return s.model.Params() }

// BeginRound takes the current parameters as the round's global parameters
// and resets the optimizer with the JSON optim.Config in optConfig.
func (s *Session) BeginRound(optConfig []byte) error {
	var cfg optim.Config
	dec := json.NewDecoder(bytes.NewReader(optConfig))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return fmt.Errorf("%w: optimizer config: %v", ErrInput, err)
	}
	o, err := optim.New(cfg, len(s.model.Params()))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInput, err)
	}
	copy(s.global, s.model.Params())
	if err := o.SetCenter(s.global); err != nil {
		return fmt.Errorf("%w: %v", ErrInput, err)
	}
	s.opt = o
	s.optJSON = append(s.optJSON[:0], optConfig...)
	return nil
}

// SetLR changes the learning rate of the current round's optimizer (for
// schedules within a long local run) without resetting its state.
func (s *Session) SetLR(lr float32) error {
	if s.opt == nil {
		return fmt.Errorf("%w: SetLR before BeginRound", ErrState)
	}
	if err := s.opt.SetLR(lr); err != nil {
		return fmt.Errorf("%w: %v", ErrInput, err)
	}
	return nil
}

// SetData references a data set (no copy): dense models take x (n × input
// size), token models take tokens (n × input size); labels has n ×
// LabelsPerExample entries.
func (s *Session) SetData(which int, x []float32, tokens []int32, labels []int32, n int) error {
	if which != TrainSlot && which != EvalSlot {
		return fmt.Errorf("%w: data slot %d (want 0 or 1)", ErrInput, which)
	}
	m := s.model
	in, rows := m.InputSize(), m.LabelsPerExample()
	if n < 0 {
		return fmt.Errorf("%w: %d examples", ErrInput, n)
	}
	if m.TokenInput() {
		if len(tokens) != n*in || len(x) != 0 {
			return fmt.Errorf("%w: token model wants %d×%d tokens and no dense inputs, got %d tokens and %d floats", ErrInput, n, in, len(tokens), len(x))
		}
	} else if len(x) != n*in || len(tokens) != 0 {
		return fmt.Errorf("%w: dense model wants %d×%d inputs and no tokens, got %d floats and %d tokens", ErrInput, n, in, len(x), len(tokens))
	}
	if len(labels) != n*rows {
		return fmt.Errorf("%w: want %d labels (%d examples × %d), got %d", ErrInput, n*rows, n, rows, len(labels))
	}
	// Validated once here, so that training batches skip the per-batch
	// checks (nn.Batch.Checked).
	lo := int32(0)
	if rows > 1 {
		lo = -1 // no label at this position
	}
	classes := int32(m.Classes())
	if i := kernels.RangeCheck(labels, lo, classes); i >= 0 {
		return fmt.Errorf("%w: label %d at position %d is outside [%d, %d)", ErrInput, labels[i], i, lo, classes)
	}
	if v := int32(m.Vocab()); m.TokenInput() {
		if i := kernels.RangeCheck(tokens, 0, v); i >= 0 {
			return fmt.Errorf("%w: token %d at position %d is outside the vocabulary [0, %d)", ErrInput, tokens[i], i, v)
		}
	}
	s.slots[which] = slot{x: x, tokens: tokens, labels: labels, n: n}
	if which == TrainSlot {
		s.seeded = false
		s.order = s.order[:0]
	}
	return nil
}

// Train runs steps optimizer steps of batch examples from the training
// slot, shuffled with seed; epochs continue across calls with the same seed.
func (s *Session) Train(steps, batch int, seed uint64) (Stats, error) {
	if s.opt == nil {
		return Stats{}, fmt.Errorf("%w: Train before BeginRound", ErrState)
	}
	d := &s.slots[TrainSlot]
	if d.n == 0 {
		return Stats{}, fmt.Errorf("%w: Train with no training data", ErrState)
	}
	if steps < 0 || batch < 1 || batch > nn.MaxBatch {
		return Stats{}, fmt.Errorf("%w: steps %d, batch %d (want steps >= 0, 1 <= batch <= %d)", ErrInput, steps, batch, nn.MaxBatch)
	}
	if !s.seeded || seed != s.seed {
		s.seed, s.seeded = seed, true
		s.rng = *tensor.NewRNG(seed)
		s.order = s.order[:0]
		s.pos = 0
	}
	var lossSum float64
	examples := 0
	for done := 0; done < steps; {
		// Queue up to queuedSteps steps, then read their losses. Each
		// step's update is guarded by the losses so far: after a
		// non-finite loss no queued step changes the parameters.
		k := min(queuedSteps, steps-done)
		before := s.opt.Steps()
		for j := range k {
			if s.pos >= len(s.order) {
				s.newEpoch(d.n)
			}
			end := min(s.pos+batch, len(s.order))
			s.gather(&s.batch, d, s.order[s.pos:end])
			examples += s.batch.N
			s.pos = end
			if err := s.model.StepQueued(s.batch, s.opt, s.losses[j:j+1], s.losses[:j+1]); err != nil {
				return Stats{}, err
			}
		}
		kernels.Sync()
		for j, l := range s.losses[:k] {
			if math.IsNaN(float64(l)) || math.IsInf(float64(l), 0) {
				// The optimizer counted the steps that its guard skipped.
				if err := s.opt.Restore(s.opt.State(), before+j); err != nil {
					return Stats{}, err
				}
				return Stats{}, fmt.Errorf("%w (%v) at step %d; parameters not updated from that step on", nn.ErrNonFinite, l, done+j)
			}
			lossSum += float64(l)
		}
		done += k
	}
	st := Stats{Steps: steps, Examples: examples}
	if steps > 0 {
		st.Loss = float32(lossSum / float64(steps))
	}
	return st, nil
}

func (s *Session) newEpoch(n int) {
	if cap(s.order) < n {
		s.order = make([]int32, n)
	}
	s.order = s.order[:n]
	kernels.Permute(s.order, &s.rng)
	s.pos = 0
}

func (s *Session) gather(b *nn.Batch, d *slot, idx []int32) {
	m := s.model
	in, rows := m.InputSize(), m.LabelsPerExample()
	n := len(idx)
	b.N = n
	b.Checked = true // SetData validated the slot's labels and tokens
	b.Labels = grow(b.Labels, n*rows)
	// A row gather is an embedding lookup: one kernel call, which a host
	// accelerator runs natively instead of a loop in the guest. Tokens and
	// labels travel as float32 bit patterns, which the gather copies
	// unchanged.
	if m.TokenInput() {
		b.Tokens = grow(b.Tokens, n*in)
		b.X = b.X[:0]
		kernels.EmbedGather(bitsF32(d.tokens[:d.n*in]), bitsF32(b.Tokens[:n*in]), idx, in)
	} else {
		b.X = grow(b.X, n*in)
		b.Tokens = b.Tokens[:0]
		kernels.EmbedGather(d.x[:d.n*in], b.X[:n*in], idx, in)
	}
	kernels.EmbedGather(bitsF32(d.labels[:d.n*rows]), bitsF32(b.Labels[:n*rows]), idx, rows)
}

// bitsF32 views int32s as float32 bit patterns, for kernels that only move
// values.
func bitsF32(v []int32) []float32 {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&v[0])), len(v))
}

// Evaluate runs the model over a slot in order, batch examples at a time.
func (s *Session) Evaluate(which, batch int) (Stats, error) {
	if which != TrainSlot && which != EvalSlot {
		return Stats{}, fmt.Errorf("%w: data slot %d (want 0 or 1)", ErrInput, which)
	}
	if batch < 1 || batch > nn.MaxBatch {
		return Stats{}, fmt.Errorf("%w: batch %d (want 1..%d)", ErrInput, batch, nn.MaxBatch)
	}
	d := &s.slots[which]
	if d.n == 0 {
		return Stats{}, fmt.Errorf("%w: Evaluate on empty data slot %d", ErrState, which)
	}
	var total nn.Eval
	idx := make([]int32, 0, batch)
	for start := 0; start < d.n; start += batch {
		idx = idx[:0]
		for i := start; i < min(start+batch, d.n); i++ {
			idx = append(idx, int32(i))
		}
		s.gather(&s.evalBuf, d, idx)
		e, err := s.model.Evaluate(s.evalBuf)
		if err != nil {
			return Stats{}, err
		}
		total = total.Add(e)
	}
	return Stats{
		Loss:     float32(total.MeanLoss()),
		Accuracy: float32(total.Accuracy()),
		Top3:     float32(total.Top3Accuracy()),
		Examples: d.n,
	}, nil
}

// Update returns params - global in a buffer owned by the session.
func (s *Session) Update() []float32 {
	p := s.model.Params()
	s.update = grow(s.update, len(p))
	for i := range p {
		s.update[i] = p[i] - s.global[i]
	}
	return s.update
}

// Global returns the round's global parameters (not a copy).
func (s *Session) Global() []float32 { return s.global }

const (
	ckptMagic   = "MRCK"
	ckptVersion = 1
	// maxCheckpointParams bounds what Restore will allocate.
	maxCheckpointParams = 1 << 28
)

// Checkpoint serialises the training state: spec hash, parameters, global
// parameters, optimizer config, state and step count, the shuffle cursor
// and the dropout RNG. The data itself is not included (the host holds it
// and sets it again before resuming).
//
// Layout (little-endian): "MRCK" u32 version, [32]byte spec hash, u32 P,
// P f32 params, P f32 global, u32 J + J bytes optimizer JSON, u32 S + S f32
// optimizer state, u64 optimizer steps, u64 model RNG, u8 seeded, u64 seed,
// u64 shuffle RNG, u32 pos, u32 O + O u32 order, u32 CRC-32C of all before.
func (s *Session) Checkpoint() []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	w32 := func(v uint32) { b.Write(le.AppendUint32(nil, v)) }
	w64 := func(v uint64) { b.Write(le.AppendUint64(nil, v)) }
	wf := func(v []float32) {
		for _, f := range v {
			w32(math.Float32bits(f))
		}
	}
	b.WriteString(ckptMagic)
	w32(ckptVersion)
	b.Write(s.specHash[:])
	p := s.model.Params()
	w32(uint32(len(p)))
	wf(p)
	wf(s.global)
	w32(uint32(len(s.optJSON)))
	b.Write(s.optJSON)
	var st []float32
	var steps int
	if s.opt != nil {
		st, steps = s.opt.State(), s.opt.Steps()
	}
	w32(uint32(len(st)))
	wf(st)
	w64(uint64(steps))
	w64(s.model.RNGState())
	if s.seeded {
		b.WriteByte(1)
	} else {
		b.WriteByte(0)
	}
	w64(s.seed)
	w64(s.rng.State())
	w32(uint32(s.pos))
	w32(uint32(len(s.order)))
	for _, o := range s.order {
		w32(uint32(o))
	}
	w32(crc32.Checksum(b.Bytes(), crc32.MakeTable(crc32.Castagnoli)))
	return b.Bytes()
}

// Restore resumes a checkpoint made by a session of the same spec. On
// error the session is unchanged.
func (s *Session) Restore(ckpt []byte) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: checkpoint: %s", ErrInput, fmt.Sprintf(format, a...))
	}
	if len(ckpt) < 4+4+32+4+4 {
		return bad("%d bytes is too short", len(ckpt))
	}
	body, sum := ckpt[:len(ckpt)-4], binary.LittleEndian.Uint32(ckpt[len(ckpt)-4:])
	if crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)) != sum {
		return bad("checksum mismatch (corrupt or truncated)")
	}
	r := reader{b: body}
	if string(r.bytes(4)) != ckptMagic {
		return bad("not a murmur checkpoint (bad magic)")
	}
	if v := r.u32(); v != ckptVersion {
		return bad("version %d, this core reads %d", v, ckptVersion)
	}
	if h := r.bytes(32); r.err == nil && !bytes.Equal(h, s.specHash[:]) {
		return bad("made for another model spec")
	}
	n := int(r.u32())
	if n != len(s.model.Params()) {
		return bad("has %d parameters, model has %d", n, len(s.model.Params()))
	}
	params, global := r.f32s(n), r.f32s(n)
	optJSON := r.bytes(int(r.u32()))
	stLen := int(r.u32())
	if stLen > maxCheckpointParams {
		return bad("optimizer state of %d values", stLen)
	}
	st := r.f32s(stLen)
	steps := r.u64()
	modelRNG := r.u64()
	seeded := r.byte1() == 1
	seed, rngState := r.u64(), r.u64()
	pos := int(r.u32())
	ordLen := int(r.u32())
	if r.err == nil && ordLen != 0 && ordLen != s.slots[TrainSlot].n && s.slots[TrainSlot].n != 0 {
		return bad("shuffle order covers %d examples, training data has %d", ordLen, s.slots[TrainSlot].n)
	}
	order := make([]int32, 0, min(ordLen, r.left()/4))
	for i := 0; i < ordLen && r.err == nil; i++ {
		o := r.u32()
		if uint64(o) >= uint64(ordLen) {
			return bad("shuffle order entry %d out of range", o)
		}
		order = append(order, int32(o))
	}
	if r.err != nil {
		return bad("%v", r.err)
	}
	if r.left() != 0 {
		return bad("%d trailing bytes", r.left())
	}
	if pos > ordLen {
		return bad("cursor %d beyond order of %d", pos, ordLen)
	}
	var opt *optim.Optimizer
	if len(optJSON) > 0 {
		var cfg optim.Config
		if err := json.Unmarshal(optJSON, &cfg); err != nil {
			return bad("optimizer config: %v", err)
		}
		o, err := optim.New(cfg, n)
		if err != nil {
			return bad("optimizer config: %v", err)
		}
		if err := o.SetCenter(s.global); err != nil {
			return bad("%v", err)
		}
		if err := o.Restore(st, int(steps)); err != nil {
			return bad("optimizer state: %v", err)
		}
		opt = o
	}
	// Everything validated: commit.
	copy(s.model.Params(), params)
	copy(s.global, global)
	s.opt = opt
	s.optJSON = append(s.optJSON[:0], optJSON...)
	s.model.SetRNGState(modelRNG)
	s.seeded, s.seed = seeded, seed
	s.rng.SetState(rngState)
	s.order, s.pos = order, pos
	return nil
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) left() int { return len(r.b) }

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = fmt.Errorf("truncated: want %d more bytes, have %d", n, len(r.b))
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) byte1() byte {
	b := r.bytes(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (r *reader) u32() uint32 {
	b := r.bytes(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *reader) u64() uint64 {
	b := r.bytes(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

func (r *reader) f32s(n int) []float32 {
	if n < 0 || n > len(r.b)/4 {
		if r.err == nil {
			r.err = fmt.Errorf("truncated: want %d floats, have %d bytes", n, len(r.b))
		}
		return nil
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(r.u32())
	}
	return out
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
