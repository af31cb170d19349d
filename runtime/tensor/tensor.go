// Package tensor holds the training core's basic value types: float32
// tensors, a seeded random number generator that yields the same numbers on
// every GOARCH, and portable elementary functions (Exp, Log, Tanh, Sigmoid)
// that give bit-identical results natively and in WebAssembly.
//
// Why portable math: the standard library's math.Exp and math.Log use
// assembly on some architectures (amd64 among them) and pure Go on others
// (wasm), and the two can differ in the last bit. Training must give
// bit-identical parameters in native Go and in the wasm core, so the core
// uses only the functions here, built from +, *, / and exact bit tricks.
package tensor

import (
	"errors"
	"fmt"
	"math"
)

// Tensor is a dense, row-major float32 array. Data may be a view into a
// larger buffer (for example a model's flat parameter buffer).
type Tensor struct {
	Shape []int
	Data  []float32
}

// New returns a zero tensor of the given shape. It panics on a negative
// dimension or an overflowing size (programming errors); use NumElems to
// validate external shapes first.
func New(shape ...int) *Tensor {
	n, err := NumElems(shape)
	if err != nil {
		panic("tensor.New: " + err.Error())
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, n)}
}

// FromData wraps data (without copying) as a tensor of the given shape.
func FromData(data []float32, shape ...int) (*Tensor, error) {
	n, err := NumElems(shape)
	if err != nil {
		return nil, err
	}
	if n != len(data) {
		return nil, fmt.Errorf("tensor: shape %v needs %d elements, data has %d", shape, n, len(data))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: data}, nil
}

// Len returns the number of elements.
func (t *Tensor) Len() int { return len(t.Data) }

// MaxElems bounds the element count NumElems accepts (1<<31 - 1), so sizes
// computed from untrusted shapes fit an int on 32-bit targets such as wasm.
const MaxElems = math.MaxInt32

// ErrShape is wrapped by every shape validation error.
var ErrShape = errors.New("invalid shape")

// NumElems returns the product of shape, or an error if a dimension is not
// positive or the product exceeds MaxElems.
func NumElems(shape []int) (int, error) {
	n := 1
	for i, d := range shape {
		if d <= 0 {
			return 0, fmt.Errorf("%w: dimension %d of %v is %d, want > 0", ErrShape, i, shape, d)
		}
		if n > MaxElems/d {
			return 0, fmt.Errorf("%w: %v has more than %d elements", ErrShape, shape, MaxElems)
		}
		n *= d
	}
	return n, nil
}
