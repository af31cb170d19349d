//go:build tools

// Package deps pins the project's chosen dependencies (see DESIGN.md) in go.mod
// before every package that uses them has landed.
package deps

import (
	_ "github.com/Shopify/toxiproxy/v2"
	_ "github.com/cloudflare/circl/secretsharing"
	_ "github.com/coder/websocket"
	_ "github.com/klauspost/compress/zstd"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/tetratelabs/wazero"
	_ "go.etcd.io/bbolt"
	_ "go.uber.org/goleak"
	_ "golang.org/x/crypto/hkdf"
	_ "golang.org/x/time/rate"
	_ "gonum.org/v1/gonum/blas/blas32"
	_ "pgregory.net/rapid"
)
