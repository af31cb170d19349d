//go:build !amd64 || purego

package quant

const useAVX2 = false

func roundAVX2(cs *byte, v *float32, n int, c *roundConst)   { panic("quant: no AVX2") }
func nearestAVX2(cs *byte, v *float32, n int, c *roundConst) { panic("quant: no AVX2") }
func maxAbsAVX2(v *float32, n int) uint32                    { panic("quant: no AVX2") }
