//go:build !amd64 || purego

package encode

// useAVX2 is false: the Go loops run everywhere (see kernels_amd64.go).
const useAVX2 = false

func sumSquaresAVX2(x *float32, n int, s *[4]float64) { panic("encode: no AVX2") }
func quantF32AVX2(dst *uint64, src *float32, n int, st *[4]uint64, c *qconst) {
	panic("encode: no AVX2")
}
func quantF64AVX2(dst *uint64, src *float64, n int, st *[4]uint64, c *qconst) {
	panic("encode: no AVX2")
}
func decodeF32AVX2(out *float32, sum *uint64, n int, c *dconst)            { panic("encode: no AVX2") }
func decodeF64AVX2(out *float64, sum *uint64, n int, c *dconst)            { panic("encode: no AVX2") }
func fwhtRadix4AVX2(a *float64, n, h int)                                  { panic("encode: no AVX2") }
func fwhtRadix2AVX2(a *float64, n, h int)                                  { panic("encode: no AVX2") }
func cvtScaleAVX2(y *float64, x *float32, n int, c float64)                { panic("encode: no AVX2") }
func scaleAVX2(y *float64, n int, c float64)                               { panic("encode: no AVX2") }
func toF32AVX2(out *float32, z *float64, n int, c float64)                 { panic("encode: no AVX2") }
func fwht4AVX2(a *float64, n int)                                          { panic("encode: no AVX2") }
func fwht4CvtSignsAVX2(a *float64, x *float32, sb *byte, n int, c float64) { panic("encode: no AVX2") }
func fwht4SignBitsAVX2(a *float64, sb *byte, n int)                        { panic("encode: no AVX2") }
func scaleSignBitsAVX2(y *float64, sb *byte, n int, c float64)             { panic("encode: no AVX2") }
func scaleSignBitsF32AVX2(out *float32, z *float64, sb *byte, n int, c, w float64) {
	panic("encode: no AVX2")
}
func packAVX2(out *byte, v *uint64, groups int, c *packConst)         { panic("encode: no AVX2") }
func unpackAVX2(dst *uint64, src *byte, quads int, c *unpackConst)    { panic("encode: no AVX2") }
func unpackAddAVX2(dst *uint64, src *byte, quads int, c *unpackConst) { panic("encode: no AVX2") }
func fwhtRadix8AVX2(a *float64, n, h int)                             { panic("encode: no AVX2") }
