//go:build !purego

#include "textflag.h"

// func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL eaxArg+0(FP), AX
	MOVL ecxArg+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv() (eax, edx uint32)
TEXT ·xgetbv(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET

// One k step: two 8-wide B vectors times six broadcast A values.
#define STEP(aoff, boff) \
	VMOVUPS boff(DI), Y0 \
	VMOVUPS (boff+32)(DI), Y1 \
	VBROADCASTSS (aoff+0)(SI), Y2 \
	VBROADCASTSS (aoff+4)(SI), Y3 \
	VFMADD231PS Y0, Y2, Y4 \
	VFMADD231PS Y1, Y2, Y5 \
	VFMADD231PS Y0, Y3, Y6 \
	VFMADD231PS Y1, Y3, Y7 \
	VBROADCASTSS (aoff+8)(SI), Y2 \
	VBROADCASTSS (aoff+12)(SI), Y3 \
	VFMADD231PS Y0, Y2, Y8 \
	VFMADD231PS Y1, Y2, Y9 \
	VFMADD231PS Y0, Y3, Y10 \
	VFMADD231PS Y1, Y3, Y11 \
	VBROADCASTSS (aoff+16)(SI), Y2 \
	VBROADCASTSS (aoff+20)(SI), Y3 \
	VFMADD231PS Y0, Y2, Y12 \
	VFMADD231PS Y1, Y2, Y13 \
	VFMADD231PS Y0, Y3, Y14 \
	VFMADD231PS Y1, Y3, Y15

// func kern6x16(k int, a, b, c *float32, ldc int, alpha float32, accumulate int)
//
// a: 6-row panel, k-major (6 floats per step); b: 16-column panel, k-major
// (16 floats per step); c: top-left of a 6x16 tile with row stride ldc
// (in elements). accumulate == 0: C = alpha*AB; otherwise C += alpha*AB.
// Requires AVX2 and FMA; k >= 1.
TEXT ·kern6x16(SB), NOSPLIT, $0-56
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15

	// Start loading the C tile's six rows (ldc apart, often in different
	// pages) now, so the stores after the k loop do not wait on misses:
	// +5-15% GFLOP per CPU-second at 1024^3 on one core, measured
	// interleaved with the kernel without it.
	MOVQ DX, AX
	PREFETCHT0 (AX)
	ADDQ R8, AX
	PREFETCHT0 (AX)
	ADDQ R8, AX
	PREFETCHT0 (AX)
	ADDQ R8, AX
	PREFETCHT0 (AX)
	ADDQ R8, AX
	PREFETCHT0 (AX)
	ADDQ R8, AX
	PREFETCHT0 (AX)

	CMPQ CX, $4
	JLT  tail

loop4:
	STEP(0, 0)
	STEP(24, 64)
	STEP(48, 128)
	STEP(72, 192)
	ADDQ $96, SI
	ADDQ $256, DI
	SUBQ $4, CX
	CMPQ CX, $4
	JGE  loop4

tail:
	TESTQ CX, CX
	JZ    done

loop1:
	STEP(0, 0)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  loop1

done:
	VBROADCASTSS alpha+40(FP), Y0
	MOVQ accumulate+48(FP), AX
	TESTQ AX, AX
	JNZ  accum

	VMULPS Y4, Y0, Y4
	VMULPS Y5, Y0, Y5
	VMOVUPS Y4, (DX)
	VMOVUPS Y5, 32(DX)
	ADDQ R8, DX
	VMULPS Y6, Y0, Y6
	VMULPS Y7, Y0, Y7
	VMOVUPS Y6, (DX)
	VMOVUPS Y7, 32(DX)
	ADDQ R8, DX
	VMULPS Y8, Y0, Y8
	VMULPS Y9, Y0, Y9
	VMOVUPS Y8, (DX)
	VMOVUPS Y9, 32(DX)
	ADDQ R8, DX
	VMULPS Y10, Y0, Y10
	VMULPS Y11, Y0, Y11
	VMOVUPS Y10, (DX)
	VMOVUPS Y11, 32(DX)
	ADDQ R8, DX
	VMULPS Y12, Y0, Y12
	VMULPS Y13, Y0, Y13
	VMOVUPS Y12, (DX)
	VMOVUPS Y13, 32(DX)
	ADDQ R8, DX
	VMULPS Y14, Y0, Y14
	VMULPS Y15, Y0, Y15
	VMOVUPS Y14, (DX)
	VMOVUPS Y15, 32(DX)
	VZEROUPPER
	RET

accum:
	VFMADD213PS (DX), Y0, Y4
	VFMADD213PS 32(DX), Y0, Y5
	VMOVUPS Y4, (DX)
	VMOVUPS Y5, 32(DX)
	ADDQ R8, DX
	VFMADD213PS (DX), Y0, Y6
	VFMADD213PS 32(DX), Y0, Y7
	VMOVUPS Y6, (DX)
	VMOVUPS Y7, 32(DX)
	ADDQ R8, DX
	VFMADD213PS (DX), Y0, Y8
	VFMADD213PS 32(DX), Y0, Y9
	VMOVUPS Y8, (DX)
	VMOVUPS Y9, 32(DX)
	ADDQ R8, DX
	VFMADD213PS (DX), Y0, Y10
	VFMADD213PS 32(DX), Y0, Y11
	VMOVUPS Y10, (DX)
	VMOVUPS Y11, 32(DX)
	ADDQ R8, DX
	VFMADD213PS (DX), Y0, Y12
	VFMADD213PS 32(DX), Y0, Y13
	VMOVUPS Y12, (DX)
	VMOVUPS Y13, 32(DX)
	ADDQ R8, DX
	VFMADD213PS (DX), Y0, Y14
	VFMADD213PS 32(DX), Y0, Y15
	VMOVUPS Y14, (DX)
	VMOVUPS Y15, 32(DX)
	VZEROUPPER
	RET

// func pack6x8(dst, src *float32, ld, groups int)
//
// Packs six rows of A (row stride ld elements, from src) into a 6-row
// panel, dst[p*6+r] = src[r*ld+p], for p < 8*groups: each group of eight k
// steps is loaded as six 8-float row vectors, transposed with unpack and
// shuffle (4x4 blocks per 128-bit lane), and stored as 16+8-byte pieces, so
// nothing is written outside dst[:48*groups]. Requires AVX.
TEXT ·pack6x8(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ groups+24(FP), CX
	SHLQ $2, R8
	LEAQ (SI)(R8*2), R9
	ADDQ R8, R9 // R9 = row 3
	TESTQ CX, CX
	JZ   pdone

ploop:
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (SI)(R8*2), Y2
	VMOVUPS (R9), Y3
	VMOVUPS (R9)(R8*1), Y4
	VMOVUPS (R9)(R8*2), Y5
	VUNPCKLPS Y1, Y0, Y6 // r0[0] r1[0] r0[1] r1[1] | [4] [5]
	VUNPCKHPS Y1, Y0, Y7 // r0[2] r1[2] r0[3] r1[3] | [6] [7]
	VUNPCKLPS Y3, Y2, Y8
	VUNPCKHPS Y3, Y2, Y9
	VUNPCKLPS Y5, Y4, Y10 // r4[0] r5[0] r4[1] r5[1] | [4] [5]
	VUNPCKHPS Y5, Y4, Y11 // r4[2] r5[2] r4[3] r5[3] | [6] [7]
	VSHUFPS $0x44, Y8, Y6, Y12 // r0..r3[0] | [4]
	VSHUFPS $0xEE, Y8, Y6, Y13 // r0..r3[1] | [5]
	VSHUFPS $0x44, Y9, Y7, Y14 // r0..r3[2] | [6]
	VSHUFPS $0xEE, Y9, Y7, Y15 // r0..r3[3] | [7]
	VMOVUPS X12, 0(DI)
	VMOVSD  X10, 16(DI)
	VMOVUPS X13, 24(DI)
	VMOVHPS X10, 40(DI)
	VMOVUPS X14, 48(DI)
	VMOVSD  X11, 64(DI)
	VMOVUPS X15, 72(DI)
	VMOVHPS X11, 88(DI)
	VEXTRACTF128 $1, Y10, X0
	VEXTRACTF128 $1, Y11, X1
	VEXTRACTF128 $1, Y12, 96(DI)
	VMOVSD  X0, 112(DI)
	VEXTRACTF128 $1, Y13, 120(DI)
	VMOVHPS X0, 136(DI)
	VEXTRACTF128 $1, Y14, 144(DI)
	VMOVSD  X1, 160(DI)
	VEXTRACTF128 $1, Y15, 168(DI)
	VMOVHPS X1, 184(DI)
	ADDQ $32, SI
	ADDQ $32, R9
	ADDQ $192, DI
	DECQ CX
	JNZ  ploop

pdone:
	VZEROUPPER
	RET

// Loads rows 0..7 of an 8x8 block (row r at base0 + r*ld, R8 = ld in bytes)
// into Y0..Y7 and transposes them, leaving column c (rows 0..7) in Y(8+c).
// b0 = row 0, b2 = row 2, b3 = row 3.
#define TRANSPOSE8(b0, b2, b3) \
	VMOVUPS (b0), Y0 \
	VMOVUPS (b0)(R8*1), Y1 \
	VMOVUPS (b0)(R8*2), Y2 \
	VMOVUPS (b3), Y3 \
	VMOVUPS (b0)(R8*4), Y4 \
	VMOVUPS (b3)(R8*2), Y5 \
	VMOVUPS (b2)(R8*4), Y6 \
	VMOVUPS (b3)(R8*4), Y7 \
	VUNPCKLPS Y1, Y0, Y8 \
	VUNPCKHPS Y1, Y0, Y9 \
	VUNPCKLPS Y3, Y2, Y10 \
	VUNPCKHPS Y3, Y2, Y11 \
	VUNPCKLPS Y5, Y4, Y12 \
	VUNPCKHPS Y5, Y4, Y13 \
	VUNPCKLPS Y7, Y6, Y14 \
	VUNPCKHPS Y7, Y6, Y15 \
	VSHUFPS $0x44, Y10, Y8, Y0 \
	VSHUFPS $0xEE, Y10, Y8, Y1 \
	VSHUFPS $0x44, Y11, Y9, Y2 \
	VSHUFPS $0xEE, Y11, Y9, Y3 \
	VSHUFPS $0x44, Y14, Y12, Y4 \
	VSHUFPS $0xEE, Y14, Y12, Y5 \
	VSHUFPS $0x44, Y15, Y13, Y6 \
	VSHUFPS $0xEE, Y15, Y13, Y7 \
	VPERM2F128 $0x20, Y4, Y0, Y8 \
	VPERM2F128 $0x20, Y5, Y1, Y9 \
	VPERM2F128 $0x20, Y6, Y2, Y10 \
	VPERM2F128 $0x20, Y7, Y3, Y11 \
	VPERM2F128 $0x31, Y4, Y0, Y12 \
	VPERM2F128 $0x31, Y5, Y1, Y13 \
	VPERM2F128 $0x31, Y6, Y2, Y14 \
	VPERM2F128 $0x31, Y7, Y3, Y15

// Stores the eight transposed columns Y8..Y15 at off(DI) + c*64.
#define STORE8(off) \
	VMOVUPS Y8, (off+0)(DI) \
	VMOVUPS Y9, (off+64)(DI) \
	VMOVUPS Y10, (off+128)(DI) \
	VMOVUPS Y11, (off+192)(DI) \
	VMOVUPS Y12, (off+256)(DI) \
	VMOVUPS Y13, (off+320)(DI) \
	VMOVUPS Y14, (off+384)(DI) \
	VMOVUPS Y15, (off+448)(DI)

// func pack16x8(dst, src *float32, ld, groups int)
//
// Packs sixteen rows (row stride ld elements, from src) into a 16-wide
// panel, dst[p*16+x] = src[x*ld+p], for p < 8*groups: two 8x8 transposes
// per group of eight k steps. Writes exactly dst[:128*groups]. Requires AVX.
TEXT ·pack16x8(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ groups+24(FP), CX
	SHLQ $2, R8
	LEAQ (SI)(R8*2), R11 // row 2
	LEAQ (R11)(R8*1), R9 // row 3
	LEAQ (SI)(R8*8), R12 // row 8
	LEAQ (R12)(R8*2), R14 // row 10
	LEAQ (R14)(R8*1), R13 // row 11
	TESTQ CX, CX
	JZ   p16done

p16loop:
	TRANSPOSE8(SI, R11, R9)
	STORE8(0)
	TRANSPOSE8(R12, R14, R13)
	STORE8(32)
	ADDQ $32, SI
	ADDQ $32, R9
	ADDQ $32, R11
	ADDQ $32, R12
	ADDQ $32, R13
	ADDQ $32, R14
	ADDQ $512, DI
	DECQ CX
	JNZ  p16loop

p16done:
	VZEROUPPER
	RET
