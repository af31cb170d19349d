// Package optim updates a model's flat parameter buffer from its flat
// gradient buffer: SGD with momentum, Adam, and the FedProx proximal term.
//
// Optimizer state (momentum or Adam moments) is itself one flat []float32
// with the parameters' layout, so it can be checkpointed and restored (for
// example across the wasm boundary) without copying. Config is a plain
// JSON-encodable struct, so a relay can ship it to devices.
package optim

import (
	"errors"
	"fmt"
	"math"

	"github.com/murmur-fl/murmur/runtime/kernels"
)

// Config selects and configures an optimizer. Zero fields take the
// defaults documented on each field.
type Config struct {
	// Name is "sgd" (default when empty) or "adam".
	Name string `json:"name,omitempty"`
	// LR is the learning rate; it must be > 0.
	LR float32 `json:"lr"`
	// Momentum for SGD (heavy ball: v = momentum*v + g; w -= lr*v); 0 is
	// plain SGD.
	Momentum float32 `json:"momentum,omitempty"`
	// Beta1, Beta2 and Eps for Adam; defaults 0.9, 0.999 and 1e-8.
	Beta1 float32 `json:"beta1,omitempty"`
	Beta2 float32 `json:"beta2,omitempty"`
	Eps   float32 `json:"eps,omitempty"`
	// WeightDecay adds WeightDecay*w to the gradient (coupled L2).
	WeightDecay float32 `json:"weight_decay,omitempty"`
	// ClipNorm, when > 0, rescales the data gradient so its L2 norm is at
	// most ClipNorm (before weight decay and the proximal term), which keeps
	// recurrent models from blowing up on a bad batch.
	ClipNorm float32 `json:"clip_norm,omitempty"`
	// ProxMu is FedProx's mu: the local objective gains mu/2*||w - w_global||^2,
	// so the gradient gains mu*(w - w_global), pulling local training toward
	// the round's global parameters (set with SetCenter). 0 disables it.
	ProxMu float32 `json:"prox_mu,omitempty"`
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("optim: bad config")

// withDefaults fills defaults and validates.
func (c Config) withDefaults() (Config, error) {
	if c.Name == "" {
		c.Name = "sgd"
	}
	if c.Name != "sgd" && c.Name != "adam" {
		return c, fmt.Errorf("%w: unknown optimizer %q (want \"sgd\" or \"adam\")", ErrConfig, c.Name)
	}
	if c.Beta1 == 0 {
		c.Beta1 = 0.9
	}
	if c.Beta2 == 0 {
		c.Beta2 = 0.999
	}
	if c.Eps == 0 {
		c.Eps = 1e-8
	}
	bad := func(name string, v float32, ok bool) error {
		if ok && !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) {
			return nil
		}
		return fmt.Errorf("%w: %s = %v out of range", ErrConfig, name, v)
	}
	for _, e := range []error{
		bad("lr", c.LR, c.LR > 0),
		bad("momentum", c.Momentum, c.Momentum >= 0 && c.Momentum < 1),
		bad("beta1", c.Beta1, c.Beta1 > 0 && c.Beta1 < 1),
		bad("beta2", c.Beta2, c.Beta2 > 0 && c.Beta2 < 1),
		bad("eps", c.Eps, c.Eps > 0),
		bad("weight_decay", c.WeightDecay, c.WeightDecay >= 0),
		bad("prox_mu", c.ProxMu, c.ProxMu >= 0),
		bad("clip_norm", c.ClipNorm, c.ClipNorm >= 0),
	} {
		if e != nil {
			return c, e
		}
	}
	return c, nil
}

// The update loops are kernels.OptimStep: bit-identical on every GOARCH and
// in wasm (no fused multiply-adds), and a host accelerator may run them.

// Optimizer updates a flat parameter buffer of a fixed length in place.
// It is not safe for concurrent use.
type Optimizer struct {
	cfg    Config
	n      int
	state  []float32 // sgd: velocity (n, only if momentum > 0); adam: m then v (2n)
	steps  int
	center []float32
	b1pow  float64 // beta1^steps, beta2^steps, kept to avoid math.Pow (portable)
	b2pow  float64
}

// New returns an optimizer for n parameters.
func New(cfg Config, n int) (*Optimizer, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, fmt.Errorf("%w: %d parameters", ErrConfig, n)
	}
	o := &Optimizer{cfg: c, n: n}
	switch {
	case c.Name == "adam":
		o.state = make([]float32, 2*n)
	case c.Momentum > 0:
		o.state = make([]float32, n)
	default:
		o.state = []float32{}
	}
	o.Reset()
	return o, nil
}

// Config returns the configuration with defaults filled in.
func (o *Optimizer) Config() Config { return o.cfg }

// SetCenter sets FedProx's anchor w_global (typically the round's global
// parameters; the slice is read, not copied, on every Step). nil disables
// the proximal term even when ProxMu > 0.
func (o *Optimizer) SetCenter(global []float32) error {
	if global != nil && len(global) != o.n {
		return fmt.Errorf("optim: center has %d values, want %d", len(global), o.n)
	}
	o.center = global
	return nil
}

// SetLR changes the learning rate (for schedules); it must be > 0 and finite.
func (o *Optimizer) SetLR(lr float32) error {
	c := o.cfg
	c.LR = lr
	if _, err := c.withDefaults(); err != nil {
		return err
	}
	o.cfg.LR = lr
	return nil
}

// Reset clears the state and step count (for a new round).
func (o *Optimizer) Reset() {
	clear(o.state)
	o.steps = 0
	o.b1pow, o.b2pow = 1, 1
}

// State returns the optimizer's flat state buffer (a view, not a copy):
// empty for plain SGD, the velocity for SGD with momentum, the first then
// second Adam moments for Adam. Each part has the parameters' layout.
func (o *Optimizer) State() []float32 { return o.state }

// Steps returns how many updates have been applied since New or Reset.
func (o *Optimizer) Steps() int { return o.steps }

// Restore sets the state and step count from a checkpoint taken with State
// and Steps.
func (o *Optimizer) Restore(state []float32, steps int) error {
	if len(state) != len(o.state) {
		return fmt.Errorf("optim: restore state has %d values, want %d for %s", len(state), len(o.state), o.cfg.Name)
	}
	if steps < 0 {
		return fmt.Errorf("optim: restore with %d steps", steps)
	}
	copy(o.state, state)
	o.steps = 0
	o.b1pow, o.b2pow = 1, 1
	for o.steps < steps {
		o.advance()
	}
	return nil
}

func (o *Optimizer) advance() {
	o.steps++
	o.b1pow *= float64(o.cfg.Beta1)
	o.b2pow *= float64(o.cfg.Beta2)
}

// Step applies one update: params -= f(grads). grads is modified in place
// when clipping, weight decay or the proximal term are active. When a
// value of guard is not finite (the losses of a run's steps, written by
// kernels that may still be queued: see kernels.Sync), the kernel changes
// nothing, though the step still counts; nil guards nothing.
func (o *Optimizer) Step(params, grads, guard []float32) error {
	if len(params) != o.n || len(grads) != o.n {
		return fmt.Errorf("optim: step with %d params and %d grads, want %d", len(params), len(grads), o.n)
	}
	c := &o.cfg
	o.advance()
	h := kernels.OptimHyper{LR: c.LR, Momentum: c.Momentum, Beta2: c.Beta2, Eps: c.Eps,
		WeightDecay: c.WeightDecay, ClipNorm: c.ClipNorm, ProxMu: c.ProxMu}
	kind := kernels.SGD
	switch {
	case c.Name == "adam":
		// Bias corrections folded into the step size and epsilon.
		kind = kernels.Adam
		bc1 := float32(1 - o.b1pow)
		bc2 := float32(math.Sqrt(1 - o.b2pow))
		h.LR = c.LR * bc2 / bc1
		h.Eps = c.Eps * bc2
		h.Momentum = c.Beta1
	case c.Momentum > 0:
		kind = kernels.SGDMomentum
	}
	var center []float32
	if c.ProxMu > 0 {
		center = o.center
	}
	// The loops run as one kernel, so a host accelerator can take the
	// whole update (the largest non-GEMM cost of a step in the wasm core).
	kernels.OptimStep(kind, params, grads, o.state, center, guard, h)
	return nil
}
