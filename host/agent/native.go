package agent

import (
	"context"
	"errors"

	"github.com/murmur-fl/murmur/runtime/nn"
	"github.com/murmur-fl/murmur/runtime/train"
)

// NativeTrainer runs the training core linked into the host (no wasm): the
// same runtime/train session the wasm core wraps, for hosts that trust the
// code and want every bit of speed, and as the reference in parity tests.
type NativeTrainer struct {
	s *train.Session
}

var _ Trainer = (*NativeTrainer)(nil)

var errNoModel = errors.New("agent: no model loaded")

// Load implements Trainer.
func (n *NativeTrainer) Load(_ context.Context, spec []byte, seed uint64) error {
	sp, err := nn.ParseSpec(spec)
	if err != nil {
		return err
	}
	s, err := train.New(sp, seed)
	if err != nil {
		return err
	}
	n.s = s
	return nil
}

// NumParams implements Trainer.
func (n *NativeTrainer) NumParams() int {
	if n.s == nil {
		return 0
	}
	return len(n.s.Params())
}

// BeginRound implements Trainer.
func (n *NativeTrainer) BeginRound(_ context.Context, global []float32, opt []byte) error {
	if n.s == nil {
		return errNoModel
	}
	if err := n.s.Model().SetParams(global); err != nil {
		return err
	}
	return n.s.BeginRound(opt)
}

// SetData implements Trainer.
func (n *NativeTrainer) SetData(_ context.Context, slot int, d Dataset) error {
	if n.s == nil {
		return errNoModel
	}
	return n.s.SetData(slot, d.X, d.Tokens, d.Labels, d.N)
}

// Train implements Trainer.
func (n *NativeTrainer) Train(_ context.Context, steps, batch int, seed uint64) (Stats, error) {
	if n.s == nil {
		return Stats{}, errNoModel
	}
	st, err := n.s.Train(steps, batch, seed)
	return Stats(st), err
}

// Evaluate implements Trainer.
func (n *NativeTrainer) Evaluate(_ context.Context, slot, batch int) (Stats, error) {
	if n.s == nil {
		return Stats{}, errNoModel
	}
	st, err := n.s.Evaluate(slot, batch)
	return Stats(st), err
}

// Params implements Trainer.
func (n *NativeTrainer) Params(_ context.Context, dst []float32) ([]float32, error) {
	if n.s == nil {
		return nil, errNoModel
	}
	return append(dst[:0], n.s.Params()...), nil
}

// Update implements Trainer.
func (n *NativeTrainer) Update(_ context.Context, dst []float32) ([]float32, error) {
	if n.s == nil {
		return nil, errNoModel
	}
	return append(dst[:0], n.s.Update()...), nil
}

// Checkpoint implements Trainer.
func (n *NativeTrainer) Checkpoint(context.Context) ([]byte, error) {
	if n.s == nil {
		return nil, errNoModel
	}
	return n.s.Checkpoint(), nil
}

// Restore implements Trainer.
func (n *NativeTrainer) Restore(_ context.Context, ck []byte) error {
	if n.s == nil {
		return errNoModel
	}
	return n.s.Restore(ck)
}

// Close implements Trainer.
func (n *NativeTrainer) Close(context.Context) error { n.s = nil; return nil }
