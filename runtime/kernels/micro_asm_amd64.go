//go:build !purego

package kernels

// kern6x16exact computes one 6x16 tile of C from packed panels: C = alpha*AB
// (accumulate == 0) or C += alpha*AB, with C's row stride ldc (elements).
// It rounds every product before adding it (VMULPS then VADDPS, no FMA), so
// each element gets exactly the float32 operations of the pure-Go kernel.
// Requires AVX; k >= 1.
//
//go:noescape
func kern6x16exact(k int, a, b, c *float32, ldc int, alpha float32, accumulate int)

// pack6x8 packs six rows of A (row stride ld) into a 6-row panel,
// dst[p*6+r] = src[r*ld+p] for p < 8*groups, with AVX transposes. Requires
// AVX.
//
//go:noescape
func pack6x8(dst, src *float32, ld, groups int)

// pack16x8 packs sixteen rows (row stride ld) into a 16-wide panel,
// dst[p*16+x] = src[x*ld+p] for p < 8*groups. Requires AVX.
//
//go:noescape
func pack16x8(dst, src *float32, ld, groups int)

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
func xgetbv() (eax, edx uint32)

// hasAVX reports whether the CPU and the OS support AVX (YMM state enabled
// in XCR0).
func hasAVX() bool {
	_, _, ecx1, _ := cpuid(1, 0)
	const osxsave, avx = 1 << 27, 1 << 28
	if ecx1&(osxsave|avx) != osxsave|avx {
		return false
	}
	xcr0, _ := xgetbv()
	return xcr0&6 == 6
}

func init() {
	if hasAVX() {
		vec = vecKernel{name: "avx", mr: 6, nr: 16, run: kern6x16exact}
		packA6 = pack6x8
		packT16 = pack16x8
	}
}
