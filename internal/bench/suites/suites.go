// Package suites links every benchmark suite into the binary that imports it.
package suites

import (
	// Each suite registers itself in init.
	_ "github.com/murmur-fl/murmur/internal/bench/cpu"
)
