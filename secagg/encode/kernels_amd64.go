//go:build amd64 && !purego

package encode

// useAVX2 selects the AVX2 kernels of kernels_amd64.s: the CPU has AVX2 and
// the OS saves the YMM registers. The kernels give the same bits as the Go
// loops (kernels_test.go), so this changes only speed. Build with -tags
// purego to use the Go loops everywhere.
var useAVX2 = hasAVX2()

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
func xgetbv() (eax, edx uint32)

func hasAVX2() bool {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const osxsave, avx = 1 << 27, 1 << 28
	if ecx1&(osxsave|avx) != osxsave|avx {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&6 != 6 { // XMM and YMM state
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<5) != 0 // AVX2
}

//go:noescape
func sumSquaresAVX2(x *float32, n int, s *[4]float64)

//go:noescape
func quantF32AVX2(dst *uint64, src *float32, n int, st *[4]uint64, c *qconst)

//go:noescape
func quantF64AVX2(dst *uint64, src *float64, n int, st *[4]uint64, c *qconst)

//go:noescape
func decodeF32AVX2(out *float32, sum *uint64, n int, c *dconst)

//go:noescape
func decodeF64AVX2(out *float64, sum *uint64, n int, c *dconst)

//go:noescape
func fwhtRadix4AVX2(a *float64, n, h int)

//go:noescape
func fwhtRadix2AVX2(a *float64, n, h int)

//go:noescape
func cvtScaleAVX2(y *float64, x *float32, n int, c float64)

//go:noescape
func scaleAVX2(y *float64, n int, c float64)

//go:noescape
func toF32AVX2(out *float32, z *float64, n int, c float64)

//go:noescape
func fwht4AVX2(a *float64, n int)

//go:noescape
func fwht4CvtSignsAVX2(a *float64, x *float32, sb *byte, n int, c float64)

//go:noescape
func fwht4SignBitsAVX2(a *float64, sb *byte, n int)

//go:noescape
func scaleSignBitsAVX2(y *float64, sb *byte, n int, c float64)

//go:noescape
func scaleSignBitsF32AVX2(out *float32, z *float64, sb *byte, n int, c, w float64)

//go:noescape
func packAVX2(out *byte, v *uint64, groups int, c *packConst)

//go:noescape
func unpackAVX2(dst *uint64, src *byte, quads int, c *unpackConst)

//go:noescape
func unpackAddAVX2(dst *uint64, src *byte, quads int, c *unpackConst)

//go:noescape
func fwhtRadix8AVX2(a *float64, n, h int)
