//go:build amd64 && !purego

package sketch

import "github.com/murmur-fl/murmur/sync/codec/internal/cpu"

// useAVX2 selects the assembly kernels (same values as their Go twins,
// checked by TestHashRowKernel, TestSignRow3Kernel, TestEstimateKernels,
// TestAddIntMatchesReference and the fuzzers); -tags purego uses Go
// everywhere. gatherRowScalar and scatter32AVX2 are scalar code, kept
// with the AVX2 kernels they follow.
var useAVX2 = cpu.HasAVX2

//go:noescape
func hashRowAVX2(dst *uint32, n int, c *hashConst)

//go:noescape
func median5AVX2(out, a, b, c, d, e *float32, n int)

//go:noescape
func median3AVX2(out, a, b, c *float32, n int)

//go:noescape
func hashRow3AVX2(dst *uint32, n int, c *hash3Const)

//go:noescape
func signRow3AVX2(pk *uint64, q *uint64, n int, c *hash3Const)

//go:noescape
func scatter32AVX2(acc *uint32, pk *uint64, n int)

//go:noescape
func gatherRowScalar(dst *float32, h *uint32, tr *float32, n int)

//go:noescape
func estRow3AVX2(dst *float32, tr *float32, n int, c *hash3Const)

//go:noescape
func passMaskAVX2(m *uint64, a *float32, n int, t float32)
