//go:build amd64 && !purego

package quant

// useAVX2 selects roundAVX2 and maxAbsAVX2 (the same codes as the Go
// loops; round_test.go); -tags purego uses Go everywhere.
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
	if xcr0, _ := xgetbv(); xcr0&6 != 6 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<5) != 0
}

//go:noescape
func roundAVX2(cs *byte, v *float32, n int, c *roundConst)

//go:noescape
func maxAbsAVX2(v *float32, n int) uint32
