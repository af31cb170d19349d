package nn

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Spec is the declarative description of a model, shipped as JSON by the
// relay. The same Spec and seed always yield the same parameter layout and
// the same initial parameters.
//
//	{"input":[1,28,28],
//	 "layers":[{"type":"conv2d","filters":16,"kernel":5,"pad":2},{"type":"relu"},
//	           {"type":"maxpool2d","kernel":2},{"type":"flatten"},{"type":"dense","units":10}],
//	 "loss":"softmax_xent"}
//
// Input is the shape of one example, without the batch dimension. Images
// are NCHW: [channels, height, width]. A model whose first layer is an
// embedding takes token ids: Input is [sequence length].
//
// Layer types and their fields (zero means the default in brackets):
//
//	dense      units; applies to the last axis ([..., in] -> [..., units])
//	conv2d     filters, kernel, stride [1], pad [0]; input [C,H,W]
//	maxpool2d  kernel, stride [kernel]; input [C,H,W]
//	flatten    [d1, d2, ...] -> [d1*d2*...]
//	embedding  vocab, dim; input [T] token ids -> [T, dim]; must be first
//	gru        hidden, last [false]; input [T, E] -> [T, hidden], or [hidden]
//	           (the final state) when last is true
//	relu, tanh, sigmoid
//	dropout    rate in [0, 1); inverted dropout, identity in evaluation
//
// Losses: "softmax_xent" wants an output [classes] and one label per
// example; "seq_xent" wants an output [T, classes] and one label per
// position (N*T labels, batch-major; a label of -1 ignores that position),
// so next-token prediction at every position puts token t+1 at label t.
type Spec struct {
	Name   string      `json:"name,omitempty"`
	Input  []int       `json:"input"`
	Layers []LayerSpec `json:"layers"`
	Loss   string      `json:"loss"`
}

// LayerSpec is one layer of a Spec; see Spec for the fields each type uses.
type LayerSpec struct {
	Type    string  `json:"type"`
	Units   int     `json:"units,omitempty"`
	Filters int     `json:"filters,omitempty"`
	Kernel  int     `json:"kernel,omitempty"`
	Stride  int     `json:"stride,omitempty"`
	Pad     int     `json:"pad,omitempty"`
	Vocab   int     `json:"vocab,omitempty"`
	Dim     int     `json:"dim,omitempty"`
	Hidden  int     `json:"hidden,omitempty"`
	Last    bool    `json:"last,omitempty"`
	Rate    float32 `json:"rate,omitempty"`
}

// ErrSpec is wrapped by every error about a malformed or inconsistent spec.
var ErrSpec = errors.New("nn: bad model spec")

// MaxSpecBytes bounds the JSON ParseSpec accepts.
const MaxSpecBytes = 1 << 20

// ParseSpec decodes and validates a JSON spec. Unknown fields are errors,
// so a typo is not silently ignored.
func ParseSpec(data []byte) (Spec, error) {
	var s Spec
	if len(data) > MaxSpecBytes {
		return s, fmt.Errorf("%w: %d bytes of JSON, limit %d", ErrSpec, len(data), MaxSpecBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Spec{}, fmt.Errorf("%w: malformed JSON: %v", ErrSpec, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Spec{}, fmt.Errorf("%w: malformed JSON: trailing data after the spec object", ErrSpec)
	}
	if _, err := s.Layout(); err != nil {
		return Spec{}, err
	}
	return s, nil
}

// JSON returns the spec's canonical JSON encoding (fields in declaration
// order, defaults omitted), which is what Hash hashes.
func (s Spec) JSON() []byte {
	b, err := json.Marshal(s)
	if err != nil { // cannot happen: only ints, strings, bools, float32
		panic(err)
	}
	return b
}

// Hash returns the hex SHA-256 of the canonical JSON: a stable name for the
// model architecture (the relay puts it in the plan).
func (s Spec) Hash() string {
	h := sha256.Sum256(s.JSON())
	return hex.EncodeToString(h[:])
}

// Layout validates the spec and returns its parameter layout without
// allocating the model: the relay and the wasm host can size buffers from it.
func (s Spec) Layout() ([]Param, error) {
	p, err := plan(s)
	if err != nil {
		return nil, err
	}
	return p.layout, nil
}

// Builtin returns one of the named built-in specs:
//
//	"mlp"  784-128-10 with ReLU (Fashion-MNIST, flat input [784])
//	"cnn"  conv3x3x16-relu-pool2-conv3x3x32-relu-pool2-dense64-relu-dense10,
//	       input [1,28,28]; about 1.1M multiply-adds per example forward, so
//	       it trains on two CPU cores in minutes and reaches >= 90% on
//	       Fashion-MNIST
//	"gru"  embedding 64, GRU hidden 128, vocab 2000, sequence 32, next-word
//	       prediction at every position (seq_xent)
func Builtin(name string) (Spec, error) {
	switch name {
	case "mlp":
		return Spec{Name: "mlp", Input: []int{784}, Loss: "softmax_xent", Layers: []LayerSpec{
			{Type: "dense", Units: 128}, {Type: "relu"}, {Type: "dense", Units: 10},
		}}, nil
	case "cnn":
		return Spec{Name: "cnn", Input: []int{1, 28, 28}, Loss: "softmax_xent", Layers: []LayerSpec{
			{Type: "conv2d", Filters: 16, Kernel: 3, Pad: 1}, {Type: "relu"}, {Type: "maxpool2d", Kernel: 2},
			{Type: "conv2d", Filters: 32, Kernel: 3, Pad: 1}, {Type: "relu"}, {Type: "maxpool2d", Kernel: 2},
			{Type: "flatten"}, {Type: "dense", Units: 64}, {Type: "relu"}, {Type: "dense", Units: 10},
		}}, nil
	case "gru":
		return Spec{Name: "gru", Input: []int{32}, Loss: "seq_xent", Layers: []LayerSpec{
			{Type: "embedding", Vocab: 2000, Dim: 64}, {Type: "gru", Hidden: 128}, {Type: "dense", Units: 2000},
		}}, nil
	}
	return Spec{}, fmt.Errorf("%w: no built-in model %q (have mlp, cnn, gru)", ErrSpec, name)
}

// BuiltinNames lists the names Builtin accepts.
func BuiltinNames() []string { return []string{"mlp", "cnn", "gru"} }
