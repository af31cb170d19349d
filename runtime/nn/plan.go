package nn

import (
	"fmt"
	"math"
	"strings"

	"github.com/murmur-fl/murmur/runtime/kernels"
	"github.com/murmur-fl/murmur/runtime/tensor"
)

// Limits that keep a hostile or mistaken spec from allocating without
// bound (the relay ships specs; devices must not trust them blindly).
const (
	// MaxParams bounds a model's total parameter count (512 MiB of float32).
	MaxParams = 1 << 27
	// MaxActivation bounds the elements of one example's input or of any
	// layer's output for one example.
	MaxActivation = 1 << 24
	// MaxVocab bounds an embedding's vocabulary.
	MaxVocab = 1 << 22
)

// Param names one parameter tensor inside the flat parameter buffer:
// Params()[Offset : Offset+Len] holds it, row-major with Shape. Names are
// "<type><k>.<tensor>", k counting layers of that type from 0: for example
// "dense0.weight" [units, in], "dense0.bias", "conv2d0.weight"
// [filters, channels, kernel, kernel], "embedding0.weight" [vocab, dim],
// "gru0.weight_ih" [3*hidden, in], "gru0.weight_hh" [3*hidden, hidden],
// "gru0.bias_ih", "gru0.bias_hh" (gates in PyTorch's order r, z, n).
type Param struct {
	Name   string `json:"name"`
	Shape  []int  `json:"shape"`
	Offset int    `json:"offset"`
	Len    int    `json:"len"`
}

type planned struct {
	layers []layer
	inits  []pinit // in layout order
	layout []Param
	out    []int
	tokens bool
	maxAct int
	actSum int // sum of every layer's output size per example
}

var layerTypes = "dense, conv2d, maxpool2d, flatten, embedding, gru, relu, tanh, sigmoid, dropout"

// plan validates s and creates its layers (without their buffers).
func plan(s Spec) (*planned, error) {
	if len(s.Input) == 0 {
		return nil, fmt.Errorf("%w: input shape is empty", ErrSpec)
	}
	inSize, err := tensor.NumElems(s.Input)
	if err != nil || inSize > MaxActivation {
		return nil, fmt.Errorf("%w: input shape %v is invalid or larger than %d elements", ErrSpec, s.Input, MaxActivation)
	}
	if len(s.Layers) == 0 {
		return nil, fmt.Errorf("%w: no layers", ErrSpec)
	}
	p := &planned{maxAct: inSize}
	shape := append([]int(nil), s.Input...)
	counts := map[string]int{}
	total := 0
	for i, ls := range s.Layers {
		fail := func(format string, a ...any) error {
			return fmt.Errorf("%w: layer %d (%s): %s", ErrSpec, i, ls.Type, fmt.Sprintf(format, a...))
		}
		switch {
		case ls.Type == "":
			return nil, fmt.Errorf("%w: layer %d: missing \"type\" (want one of %s)", ErrSpec, i, layerTypes)
		case !contains(strings.Split(layerTypes, ", "), ls.Type):
			return nil, fmt.Errorf("%w: layer %d: unknown type %q (want one of %s)", ErrSpec, i, ls.Type, layerTypes)
		}
		if err := checkFields(ls); err != nil {
			return nil, fail("%v", err)
		}
		var l layer
		switch ls.Type {
		case "dense":
			if ls.Units <= 0 {
				return nil, fail("units must be > 0, got %d", ls.Units)
			}
			l = newDense(shape, ls.Units)
		case "conv2d":
			if len(shape) != 3 {
				return nil, fail("input shape %v, want [channels, height, width]", shape)
			}
			st := ls.Stride
			if st == 0 {
				st = 1
			}
			if ls.Filters <= 0 || ls.Kernel <= 0 || st <= 0 || ls.Pad < 0 {
				return nil, fail("filters %d, kernel %d, stride %d and pad %d must be positive (pad >= 0)", ls.Filters, ls.Kernel, st, ls.Pad)
			}
			if ls.Kernel > 1<<12 || ls.Pad > 1<<12 || st > 1<<12 {
				return nil, fail("kernel %d, stride %d or pad %d above the limit of 4096", ls.Kernel, st, ls.Pad)
			}
			h, w := shape[1]+2*ls.Pad, shape[2]+2*ls.Pad
			if ls.Kernel > h || ls.Kernel > w {
				return nil, fail("kernel %d larger than padded input %dx%d", ls.Kernel, h, w)
			}
			if ls.Pad >= ls.Kernel {
				return nil, fail("pad %d must be smaller than kernel %d", ls.Pad, ls.Kernel)
			}
			c := newConv2D(shape, ls.Filters, ls.Kernel, st, ls.Pad)
			if col := float64(c.ckk) * float64(c.p); col > MaxActivation*4 {
				return nil, fail("im2col buffer of %.0f elements per example exceeds %d", col, MaxActivation*4)
			}
			l = c
		case "maxpool2d":
			if len(shape) != 3 {
				return nil, fail("input shape %v, want [channels, height, width]", shape)
			}
			st := ls.Stride
			if st == 0 {
				st = ls.Kernel
			}
			if ls.Kernel <= 0 || st <= 0 {
				return nil, fail("kernel %d and stride %d must be > 0", ls.Kernel, st)
			}
			if ls.Kernel > shape[1] || ls.Kernel > shape[2] {
				return nil, fail("kernel %d larger than input %dx%d", ls.Kernel, shape[1], shape[2])
			}
			l = newMaxPool(shape, ls.Kernel, st)
		case "flatten":
			l = &flatten{out: []int{prod(shape)}}
		case "embedding":
			if i != 0 {
				return nil, fail("embedding must be the first layer (it reads token ids)")
			}
			if len(shape) != 1 {
				return nil, fail("input shape %v, want [sequence length] of token ids", shape)
			}
			if ls.Vocab <= 0 || ls.Vocab > MaxVocab || ls.Dim <= 0 {
				return nil, fail("vocab %d must be in [1, %d] and dim %d > 0", ls.Vocab, MaxVocab, ls.Dim)
			}
			l = newEmbedding(shape[0], ls.Vocab, ls.Dim)
			p.tokens = true
		case "gru":
			if len(shape) != 2 {
				return nil, fail("input shape %v, want [time, features]", shape)
			}
			if ls.Hidden <= 0 {
				return nil, fail("hidden must be > 0, got %d", ls.Hidden)
			}
			l = newGRU(shape[0], shape[1], ls.Hidden, ls.Last)
		case "relu", "tanh", "sigmoid":
			k := map[string]kernels.Activation{"relu": kernels.ReLU, "tanh": kernels.Tanh, "sigmoid": kernels.Sigmoid}[ls.Type]
			a := &activation{kind: k, shape: shape, size: prod(shape)}
			if i > 0 {
				switch s.Layers[i-1].Type {
				case "dense", "conv2d":
					a.inplace = true
				}
			}
			l = a
		case "dropout":
			if !(ls.Rate >= 0 && ls.Rate < 1) {
				return nil, fail("rate %v must be in [0, 1)", ls.Rate)
			}
			l = &dropout{rate: ls.Rate, shape: shape, size: prod(shape)}
		default:
			return nil, fmt.Errorf("%w: layer %d: unknown type %q", ErrSpec, i, ls.Type)
		}
		// Bound the output size and parameter count before anything allocates.
		out := l.outShape()
		n, err := tensor.NumElems(out)
		if err != nil || n > MaxActivation {
			return nil, fail("output shape %v is invalid or larger than %d elements per example", out, MaxActivation)
		}
		p.maxAct = max(p.maxAct, n)
		p.actSum += n
		k := counts[ls.Type]
		counts[ls.Type]++
		for _, pi := range l.params() {
			m, err := tensor.NumElems(pi.shape)
			if err != nil || m > MaxParams-total {
				return nil, fail("parameters exceed the limit of %d", MaxParams)
			}
			p.layout = append(p.layout, Param{Name: fmt.Sprintf("%s%d.%s", ls.Type, k, pi.name), Shape: pi.shape, Offset: total, Len: m})
			p.inits = append(p.inits, pi)
			total += m
		}
		p.layers = append(p.layers, l)
		shape = out
	}
	if p.tokens != isTokens(s) {
		return nil, fmt.Errorf("%w: internal: token input mismatch", ErrSpec)
	}
	switch s.Loss {
	case "softmax_xent":
		if len(shape) != 1 || shape[0] < 2 {
			return nil, fmt.Errorf("%w: loss softmax_xent wants the last layer's output to be [classes >= 2], got %v", ErrSpec, shape)
		}
	case "seq_xent":
		if len(shape) != 2 || shape[1] < 2 {
			return nil, fmt.Errorf("%w: loss seq_xent wants the last layer's output to be [time, classes >= 2], got %v", ErrSpec, shape)
		}
	case "":
		return nil, fmt.Errorf("%w: missing \"loss\" (want softmax_xent or seq_xent)", ErrSpec)
	default:
		return nil, fmt.Errorf("%w: unknown loss %q (want softmax_xent or seq_xent)", ErrSpec, s.Loss)
	}
	p.out = shape
	return p, nil
}

func isTokens(s Spec) bool { return len(s.Layers) > 0 && s.Layers[0].Type == "embedding" }

// checkFields rejects fields that the layer type does not use, so that
// {"type":"dense","filters":10} is an error rather than a silent no-op.
func checkFields(ls LayerSpec) error {
	used := map[string][]string{
		"dense":     {"units"},
		"conv2d":    {"filters", "kernel", "stride", "pad"},
		"maxpool2d": {"kernel", "stride"},
		"embedding": {"vocab", "dim"},
		"gru":       {"hidden", "last"},
		"dropout":   {"rate"},
	}[ls.Type]
	set := map[string]bool{
		"units": ls.Units != 0, "filters": ls.Filters != 0, "kernel": ls.Kernel != 0,
		"stride": ls.Stride != 0, "pad": ls.Pad != 0, "vocab": ls.Vocab != 0, "dim": ls.Dim != 0,
		"hidden": ls.Hidden != 0, "last": ls.Last, "rate": ls.Rate != 0 || math.Signbit(float64(ls.Rate)),
	}
	var extra []string
	for _, f := range []string{"units", "filters", "kernel", "stride", "pad", "vocab", "dim", "hidden", "last", "rate"} {
		if set[f] && !contains(used, f) {
			extra = append(extra, f)
		}
	}
	if len(extra) > 0 {
		return fmt.Errorf("field(s) %s not used by this layer type", strings.Join(extra, ", "))
	}
	return nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
