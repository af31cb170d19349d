// Package suites links every benchmark suite into the binary that imports it.
package suites

import (
	// Each suite registers itself in init.
	_ "github.com/murmur-fl/murmur/internal/bench/codec"
	_ "github.com/murmur-fl/murmur/internal/bench/gemm"
	_ "github.com/murmur-fl/murmur/internal/bench/relay"
	_ "github.com/murmur-fl/murmur/internal/bench/secagg"
	_ "github.com/murmur-fl/murmur/internal/bench/train"
	_ "github.com/murmur-fl/murmur/internal/bench/trainwasm"
	_ "github.com/murmur-fl/murmur/internal/bench/wasmcore"
)
