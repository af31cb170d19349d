package nn

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

// FuzzBatch feeds arbitrary batches (N, lengths, values, tokens, labels,
// decoded from the fuzz bytes) to small models: Gradients, Evaluate and
// Forward must return a result or an ErrBatch/ErrNonFinite-free error, never
// panic. The batch is what the wasm host hands the core, so it is external
// input.
func FuzzBatch(f *testing.F) {
	word := func(ws ...uint32) []byte {
		var b []byte
		for _, w := range ws {
			b = binary.LittleEndian.AppendUint32(b, w)
		}
		return b
	}
	one := math.Float32bits(1)
	// Valid batches for each model, then broken ones.
	f.Add(uint8(0), uint8(1), uint8(4), word(one, 0, one, 0, 3))
	f.Add(uint8(1), uint8(1), uint8(3), word(1, 2, 3, 2, 0, 3))
	f.Add(uint8(2), uint8(1), uint8(16), append(word(one, one, one, one, one, one, one, one, one, one, one, one, one, one, one, one), word(2)...))
	f.Add(uint8(0), uint8(1), uint8(4), word(0x7fc00000, 0, one, 0, 2)) // NaN input
	f.Add(uint8(1), uint8(1), uint8(3), word(6, 2, 3, 2, 0, 3))         // token 5 out of range
	f.Add(uint8(2), uint8(3), uint8(0), []byte{})
	specs := []Spec{
		{Input: []int{4}, Loss: "softmax_xent", Layers: []LayerSpec{{Type: "dense", Units: 3}, {Type: "relu"}, {Type: "dense", Units: 3}}},
		{Input: []int{3}, Loss: "seq_xent", Layers: []LayerSpec{{Type: "embedding", Vocab: 5, Dim: 2}, {Type: "gru", Hidden: 3}, {Type: "dense", Units: 5}}},
		{Input: []int{1, 4, 4}, Loss: "softmax_xent", Layers: []LayerSpec{{Type: "conv2d", Filters: 2, Kernel: 3, Pad: 1}, {Type: "maxpool2d", Kernel: 2}, {Type: "flatten"}, {Type: "dense", Units: 2}}},
	}
	models := make([]*Model, len(specs))
	for i, s := range specs {
		m, err := Build(s, 1)
		if err != nil {
			f.Fatal(err)
		}
		models[i] = m
	}
	f.Fuzz(func(t *testing.T, which, n, split uint8, data []byte) {
		m := models[int(which)%len(models)]
		words := make([]uint32, len(data)/4)
		for i := range words {
			words[i] = binary.LittleEndian.Uint32(data[4*i:])
		}
		b := Batch{N: int(n % 8)}
		// The first split words are inputs, the rest labels.
		half := min(int(split), len(words))
		if m.TokenInput() {
			for _, w := range words[:half] {
				b.Tokens = append(b.Tokens, int32(w%7)-1) // -1..5: vocab is 5
			}
		} else {
			for _, w := range words[:half] {
				b.X = append(b.X, math.Float32frombits(w))
			}
		}
		for _, w := range words[half:] {
			b.Labels = append(b.Labels, int32(w%7)-1)
		}
		if _, err := m.Gradients(b); err != nil && !errors.Is(err, ErrBatch) {
			t.Fatalf("Gradients: unexpected error %v", err)
		} else if err == nil {
			t.Logf("valid batch, model %d", int(which)%len(models))
		}
		if _, err := m.Evaluate(b); err != nil && !errors.Is(err, ErrBatch) {
			t.Fatalf("Evaluate: unexpected error %v", err)
		}
		if _, err := m.Forward(b); err != nil && !errors.Is(err, ErrBatch) {
			t.Fatalf("Forward: unexpected error %v", err)
		}
	})
}
