package relay

import (
	"encoding/binary"
	"fmt"
	"math"
)

// OptimizerConfig picks the server optimizer that applies the round's
// combined delta to the global model (Reddi et al., "Adaptive Federated
// Optimization", 2021).
type OptimizerConfig struct {
	// Name is "fedavg" (params += LR*delta; the default), "fedavgm"
	// (server momentum, Hsu et al. 2019: m = Beta1*m + delta, params +=
	// LR*m), "fedadam" or "fedyogi".
	Name string `json:"name,omitempty"`
	// LR is the server learning rate (default 1 for fedavg, 1-Beta1 for
	// fedavgm so that a steady delta moves the model as fedavg would, 0.01
	// otherwise).
	LR float64 `json:"lr,omitempty"`
	// Beta1, Beta2 default to 0.9 and 0.99; Tau (adaptivity) to 1e-3.
	Beta1 float64 `json:"beta1,omitempty"`
	Beta2 float64 `json:"beta2,omitempty"`
	Tau   float64 `json:"tau,omitempty"`
}

// ServerOptimizer updates params in place from a delta; its state
// survives restarts through MarshalBinary/UnmarshalBinary.
type ServerOptimizer interface {
	Step(params, delta []float32)
	MarshalBinary() ([]byte, error)
	UnmarshalBinary([]byte) error
}

// NewOptimizer returns the optimizer for dim parameters.
func NewOptimizer(c OptimizerConfig, dim int) (ServerOptimizer, error) {
	lr := c.LR
	switch c.Name {
	case "", "fedavg":
		if lr == 0 {
			lr = 1
		}
		return &fedAvg{lr: float32(lr)}, nil
	case "fedavgm":
		b1 := or(c.Beta1, 0.9)
		if b1 < 0 || b1 >= 1 {
			return nil, fmt.Errorf("relay: optimizer fedavgm: need 0 <= beta1 < 1 (got %v)", b1)
		}
		if lr == 0 {
			lr = 1 - b1
		}
		return &momentum{lr: float32(lr), beta: float32(b1), m: make([]float32, dim)}, nil
	case "fedadam", "fedyogi":
		if lr == 0 {
			lr = 0.01
		}
		o := &adaptive{yogi: c.Name == "fedyogi", lr: lr, b1: or(c.Beta1, 0.9), b2: or(c.Beta2, 0.99),
			tau: or(c.Tau, 1e-3), m: make([]float32, dim), v: make([]float32, dim)}
		if o.b1 < 0 || o.b1 >= 1 || o.b2 < 0 || o.b2 >= 1 || o.tau <= 0 {
			return nil, fmt.Errorf("relay: optimizer %s: need 0 <= beta < 1 and tau > 0", c.Name)
		}
		// Yogi and Adam start v at tau^2 so the first steps are bounded.
		for i := range o.v {
			o.v[i] = float32(o.tau * o.tau)
		}
		return o, nil
	}
	return nil, fmt.Errorf("relay: unknown server optimizer %q (want fedavg, fedavgm, fedadam or fedyogi)", c.Name)
}

func or(v, d float64) float64 {
	if v == 0 {
		return d
	}
	return v
}

type fedAvg struct{ lr float32 }

func (o *fedAvg) Step(p, d []float32) {
	for i, x := range d {
		p[i] += o.lr * x
	}
}
func (o *fedAvg) MarshalBinary() ([]byte, error) { return nil, nil }
func (o *fedAvg) UnmarshalBinary([]byte) error   { return nil }

// momentum is FedAvgM: server momentum smooths rounds whose aggregates are
// noisy (few devices, non-IID data, sparsified updates).
type momentum struct {
	lr, beta float32
	m        []float32
}

func (o *momentum) Step(p, d []float32) {
	for i, g := range d {
		o.m[i] = o.beta*o.m[i] + g
		p[i] += o.lr * o.m[i]
	}
}

func (o *momentum) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 8+4*len(o.m))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(o.m)))
	for _, x := range o.m {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b, nil
}

func (o *momentum) UnmarshalBinary(b []byte) error {
	if len(b) == 0 {
		return nil // fresh state
	}
	if len(b) != 8+4*len(o.m) || binary.LittleEndian.Uint64(b) != uint64(len(o.m)) {
		return fmt.Errorf("relay: optimizer state is %d bytes, does not match %d parameters", len(b), len(o.m))
	}
	for i := range o.m {
		o.m[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[8+4*i:]))
	}
	return nil
}

type adaptive struct {
	yogi            bool
	lr, b1, b2, tau float64
	m, v            []float32
}

func (o *adaptive) Step(p, d []float32) {
	b1, b2 := float32(o.b1), float32(o.b2)
	for i, g := range d {
		o.m[i] = b1*o.m[i] + (1-b1)*g
		g2 := g * g
		if o.yogi {
			s := float32(1)
			if o.v[i]-g2 > 0 {
				s = 1
			} else {
				s = -1
			}
			o.v[i] -= (1 - b2) * g2 * s
		} else {
			o.v[i] = b2*o.v[i] + (1-b2)*g2
		}
		p[i] += float32(o.lr) * o.m[i] / (float32(math.Sqrt(float64(o.v[i]))) + float32(o.tau))
	}
}

func (o *adaptive) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 8+8*len(o.m))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(o.m)))
	for _, x := range o.m {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	for _, x := range o.v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b, nil
}

func (o *adaptive) UnmarshalBinary(b []byte) error {
	if len(b) == 0 {
		return nil // fresh state
	}
	if len(b) < 8 || binary.LittleEndian.Uint64(b) != uint64(len(o.m)) || len(b) != 8+8*len(o.m) {
		return fmt.Errorf("relay: optimizer state is %d bytes, does not match %d parameters", len(b), len(o.m))
	}
	b = b[8:]
	for i := range o.m {
		o.m[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	b = b[4*len(o.m):]
	for i := range o.v {
		o.v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return nil
}
