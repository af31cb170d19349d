//go:build wasm

package sketch

// In Go's wasm backend the float min and max builtins (which handle NaN
// and signed zeros) are slow; counters are finite, so comparisons suffice
// (measured: the median of 5 rows 2x faster).

func fmin(a, b float32) float32 {
	if b < a {
		return b
	}
	return a
}

func fmax(a, b float32) float32 {
	if b > a {
		return b
	}
	return a
}
