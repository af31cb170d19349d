//go:build amd64 && !purego

package topk

import "github.com/murmur-fl/murmur/sync/codec/internal/cpu"

var useAVX2 = cpu.HasAVX2

//go:noescape
func passMaskAVX2(m *byte, a *float32, n int, t float32)
