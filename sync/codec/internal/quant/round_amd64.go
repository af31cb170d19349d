//go:build amd64 && !purego

package quant

import "github.com/murmur-fl/murmur/sync/codec/internal/cpu"

// useAVX2 selects roundAVX2 and maxAbsAVX2 (the same codes as the Go
// loops; round_test.go); -tags purego uses Go everywhere.
var useAVX2 = cpu.HasAVX2

//go:noescape
func roundAVX2(cs *byte, v *float32, n int, c *roundConst)

//go:noescape
func nearestAVX2(cs *byte, v *float32, n int, c *roundConst)

//go:noescape
func maxAbsAVX2(v *float32, n int) uint32
