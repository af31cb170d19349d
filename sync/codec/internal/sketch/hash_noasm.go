//go:build !amd64 || purego

package sketch

const useAVX2 = false

func hashRowAVX2(dst *uint32, n int, c *hashConst)                { panic("sketch: no AVX2") }
func median5AVX2(out, a, b, c, d, e *float32, n int)              { panic("sketch: no AVX2") }
func median3AVX2(out, a, b, c *float32, n int)                    { panic("sketch: no AVX2") }
func hashRow3AVX2(dst *uint32, n int, c *hash3Const)              { panic("sketch: no AVX2") }
func signRow3AVX2(pk *uint64, q *uint64, n int, c *hash3Const)    { panic("sketch: no AVX2") }
func scatter32AVX2(acc *uint32, pk *uint64, n int)                { panic("sketch: no AVX2") }
func gatherRowScalar(dst *float32, h *uint32, tr *float32, n int) { panic("sketch: no AVX2") }
func estRow3AVX2(dst *float32, tr *float32, n int, c *hash3Const) { panic("sketch: no AVX2") }
func passMaskAVX2(m *uint64, a *float32, n int, t float32)        { panic("sketch: no AVX2") }
