//go:build !wasm

package sketch

// Natively the builtins compile to branch-free min/max instructions (2x
// faster than comparisons on the coin-flip orderings of a median).

func fmin(a, b float32) float32 { return min(a, b) }

func fmax(a, b float32) float32 { return max(a, b) }
