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

