package safetensors

import (
	"fmt"
	"slices"
)

// Region names a tensor inside a flat parameter vector, the way the
// training core lays out a model (runtime/nn's Param converts one to one).
type Region struct {
	Name   string
	Shape  []int
	Offset int
}

// Export returns tensors that alias params, one per region, ready for
// Write. Nothing is copied.
func Export(params []float32, layout []Region) ([]Tensor, error) {
	out := make([]Tensor, len(layout))
	for i, r := range layout {
		n, ok := numElements(r.Shape)
		if !ok || r.Offset < 0 || uint64(r.Offset)+n > uint64(len(params)) {
			return nil, fmt.Errorf("safetensors: region %q (offset %d, shape %v) does not fit in %d parameters", r.Name, r.Offset, r.Shape, len(params))
		}
		out[i] = Tensor{Name: r.Name, Shape: r.Shape, Data: params[r.Offset : r.Offset+int(n) : r.Offset+int(n)]}
	}
	return out, nil
}

// Import copies tensors into params at their regions. Every region must be
// present with exactly its shape, and every tensor must belong to a region,
// so a file for a different model fails with the first name or shape that
// differs rather than loading partially. params is only written when all
// checks pass.
func Import(params []float32, layout []Region, tensors []Tensor) error {
	byName := make(map[string]*Tensor, len(tensors))
	for i := range tensors {
		byName[tensors[i].Name] = &tensors[i]
	}
	used := make(map[string]bool, len(layout))
	for _, r := range layout {
		t, ok := byName[r.Name]
		if !ok {
			return fmt.Errorf("safetensors: the file has no tensor %q (shape %v)", r.Name, r.Shape)
		}
		if !slices.Equal(t.Shape, r.Shape) {
			return fmt.Errorf("safetensors: tensor %q has shape %v, the model wants %v", r.Name, t.Shape, r.Shape)
		}
		if r.Offset < 0 || r.Offset+len(t.Data) > len(params) {
			return fmt.Errorf("safetensors: region %q (offset %d, %d values) does not fit in %d parameters", r.Name, r.Offset, len(t.Data), len(params))
		}
		used[r.Name] = true
	}
	for _, t := range tensors {
		if !used[t.Name] {
			return fmt.Errorf("safetensors: the file has tensor %q (shape %v) that the model does not", t.Name, t.Shape)
		}
	}
	for _, r := range layout {
		copy(params[r.Offset:], byName[r.Name].Data)
	}
	return nil
}
