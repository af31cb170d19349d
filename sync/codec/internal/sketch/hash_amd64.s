//go:build amd64 && !purego

#include "textflag.h"

// func hashRowAVX2(dst *uint32, n int, c *hashConst)
// dst[j] = bucket<<1 | sign of coordinate start+j (mix, then the
// multiply-shift bucket), for n a multiple of 8; the same integer
// operations as mix and hash (64-bit multiplies from 32-bit halves).
//
// hashConst: z0 [4]uint64 (key + (start+lane)·golden), step (4·golden),
// c1, c1hi, c2, c2hi, cols, one, at 32-byte strides.

// Z = lo64(Z · C) with C (low dword: c) and CH (low dword: c>>32).
// Clobbers T, U.
#define MUL64(Z, C, CH, T, U) \
	VPSRLQ   $32, Z, T \
	VPMULUDQ C, T, T \
	VPMULUDQ CH, Z, U \
	VPADDQ   U, T, T \
	VPSLLQ   $32, T, T \
	VPMULUDQ C, Z, Z \
	VPADDQ   T, Z, Z

// Z (four states) -> R (bucket<<1 | sign per qword). Clobbers Z, T, U.
#define MIX(Z, R, T, U) \
	VPSRLQ $30, Z, T \
	VPXOR  T, Z, Z \
	MUL64(Z, Y10, Y11, T, U) \
	VPSRLQ $27, Z, T \
	VPXOR  T, Z, Z \
	MUL64(Z, Y12, Y13, T, U) \
	VPSRLQ $31, Z, T \
	VPXOR  T, Z, Z \
	VPSRLQ   $32, Z, R \
	VPMULUDQ Y14, R, R \
	VPSRLQ   $32, R, R \
	VPSLLQ   $1, R, R \
	VPAND    Y15, Z, Z \
	VPOR     Z, R, R

TEXT ·hashRowAVX2(SB), NOSPLIT, $0-24
	MOVQ    dst+0(FP), DI
	MOVQ    n+8(FP), CX
	MOVQ    c+16(FP), BX
	VMOVDQU 0(BX), Y0
	VMOVDQU 32(BX), Y9
	VMOVDQU 64(BX), Y10
	VMOVDQU 96(BX), Y11
	VMOVDQU 128(BX), Y12
	VMOVDQU 160(BX), Y13
	VMOVDQU 192(BX), Y14
	VMOVDQU 224(BX), Y15
	VMOVDQU 256(BX), Y8  // dword gather: 0, 2, 4, 6
	SHRQ    $3, CX
	JZ      hdone

hloop:
	VPADDQ  Y9, Y0, Y1   // the next four states
	VMOVDQA Y0, Y2
	VMOVDQA Y1, Y3
	MIX(Y2, Y4, Y6, Y7)
	MIX(Y3, Y5, Y6, Y7)
	VPERMD  Y4, Y8, Y4
	VPERMD  Y5, Y8, Y5
	VMOVDQU X4, (DI)
	VMOVDQU X5, 16(DI)
	VPADDQ  Y9, Y1, Y0
	ADDQ    $32, DI
	DECQ    CX
	JNZ     hloop

hdone:
	VZEROUPPER
	RET

// func median5AVX2(out, a, b, c, d, e *float32, n int)
// out[j] = med3(e, max(min(a,b), min(c,d)), min(max(a,b), max(c,d))) + 0
// for n a multiple of 8 (Estimate's network; finite inputs, so VMINPS and
// VMAXPS differ from the builtins only in the sign of a zero, which the
// +0 makes +0).
TEXT ·median5AVX2(SB), NOSPLIT, $0-56
	MOVQ   out+0(FP), DI
	MOVQ   a+8(FP), R8
	MOVQ   b+16(FP), R9
	MOVQ   c+24(FP), R10
	MOVQ   d+32(FP), R11
	MOVQ   e+40(FP), R12
	MOVQ   n+48(FP), CX
	VXORPS Y15, Y15, Y15
	XORQ   AX, AX
	SHRQ   $3, CX
	JZ     m5done

m5loop:
	VMOVUPS (R8)(AX*1), Y0
	VMOVUPS (R9)(AX*1), Y1
	VMOVUPS (R10)(AX*1), Y2
	VMOVUPS (R11)(AX*1), Y3
	VMOVUPS (R12)(AX*1), Y4
	VMINPS  Y1, Y0, Y5 // min(a,b)
	VMAXPS  Y1, Y0, Y6 // max(a,b)
	VMINPS  Y3, Y2, Y7 // min(c,d)
	VMAXPS  Y3, Y2, Y8 // max(c,d)
	VMAXPS  Y7, Y5, Y5 // y
	VMINPS  Y8, Y6, Y6 // z
	VMINPS  Y5, Y4, Y7 // min(e,y)
	VMAXPS  Y5, Y4, Y8 // max(e,y)
	VMINPS  Y6, Y8, Y8 // min(max(e,y), z)
	VMAXPS  Y8, Y7, Y7
	VADDPS  Y15, Y7, Y7
	VMOVUPS Y7, (DI)(AX*1)
	ADDQ    $32, AX
	DECQ    CX
	JNZ     m5loop

m5done:
	VZEROUPPER
	RET

// func median3AVX2(out, a, b, c *float32, n int)
// out[j] = med3(a, b, c) = max(min(a,b), min(max(a,b), c)) + 0.
TEXT ·median3AVX2(SB), NOSPLIT, $0-40
	MOVQ   out+0(FP), DI
	MOVQ   a+8(FP), R8
	MOVQ   b+16(FP), R9
	MOVQ   c+24(FP), R10
	MOVQ   n+32(FP), CX
	VXORPS Y15, Y15, Y15
	XORQ   AX, AX
	SHRQ   $3, CX
	JZ     m3done

m3loop:
	VMOVUPS (R8)(AX*1), Y0
	VMOVUPS (R9)(AX*1), Y1
	VMOVUPS (R10)(AX*1), Y2
	VMINPS  Y1, Y0, Y3
	VMAXPS  Y1, Y0, Y4
	VMINPS  Y2, Y4, Y4
	VMAXPS  Y4, Y3, Y3
	VADDPS  Y15, Y3, Y3
	VMOVUPS Y3, (DI)(AX*1)
	ADDQ    $32, AX
	DECQ    CX
	JNZ     m3loop

m3done:
	VZEROUPPER
	RET

// func hashRow3AVX2(dst *uint32, n int, c *hash3Const)
// Version 3: dst[j] = (g·cols>>32)<<1 | g&1 with g = fmix32(z>>32), z
// advancing by mul per coordinate (n a multiple of 8). hash3Const: za (z
// of the even coordinates 0, 2, 4, 6), zb (odd), step (8·mul), cols, then
// the dword vectors c1, c2 (fmix32's multipliers) and one, at 32-byte
// strides.
TEXT ·hashRow3AVX2(SB), NOSPLIT, $0-24
	MOVQ    dst+0(FP), DI
	MOVQ    n+8(FP), CX
	MOVQ    c+16(FP), BX
	VMOVDQU 0(BX), Y0
	VMOVDQU 32(BX), Y1
	VMOVDQU 64(BX), Y10
	VMOVDQU 96(BX), Y11
	VMOVDQU 128(BX), Y12
	VMOVDQU 160(BX), Y13
	VMOVDQU 192(BX), Y14
	SHRQ    $3, CX
	JZ      h3done

h3loop:
	// h: the high dwords of za (moved down) and zb, in coordinate order.
	VPSRLQ   $32, Y0, Y2
	VPBLENDD $0xAA, Y1, Y2, Y2
	VPADDQ   Y10, Y0, Y0
	VPADDQ   Y10, Y1, Y1
	// g = fmix32(h)
	VPSRLD   $16, Y2, Y3
	VPXOR    Y3, Y2, Y2
	VPMULLD  Y12, Y2, Y2
	VPSRLD   $13, Y2, Y3
	VPXOR    Y3, Y2, Y2
	VPMULLD  Y13, Y2, Y2
	VPSRLD   $16, Y2, Y3
	VPXOR    Y3, Y2, Y2
	// buckets: g·cols >> 32 for the even and the odd dwords.
	VPMULUDQ Y11, Y2, Y4
	VPSRLQ   $32, Y2, Y5
	VPMULUDQ Y11, Y5, Y5
	VPSRLQ   $32, Y4, Y4
	VPBLENDD $0xAA, Y5, Y4, Y4
	// bucket<<1 | g&1
	VPSLLD   $1, Y4, Y4
	VPAND    Y14, Y2, Y2
	VPOR     Y2, Y4, Y4
	VMOVDQU  Y4, (DI)
	ADDQ     $32, DI
	DECQ     CX
	JNZ      h3loop

h3done:
	VZEROUPPER
	RET

// func signRow3AVX2(pk *uint64, q *uint64, n int, c *hash3Const)
// Version 3, one row, n a multiple of 8: pk[j] = sv<<32 | idx for
// coordinate start+j, idx its counter and sv = ±uint32(q[j]) (negated mod
// 2^32 when the sign is negative), the hash as hashRow3AVX2's. c's lanes
// are in the order VSHUFPS packs q's low dwords: dwords (0,1,4,5 | 2,3,6,7),
// so za holds coordinates 0, 4, 2, 6 and zb 1, 5, 3, 7 (const3p); then
// VPUNPCKLDQ/VPUNPCKHDQ of (idx, sv) are coordinates 0..3 and 4..7 in
// order, with no lane-crossing shuffle.
TEXT ·signRow3AVX2(SB), NOSPLIT, $0-32
	MOVQ    pk+0(FP), DI
	MOVQ    q+8(FP), DX
	MOVQ    n+16(FP), CX
	MOVQ    c+24(FP), BX
	VMOVDQU 0(BX), Y0
	VMOVDQU 32(BX), Y1
	VMOVDQU 64(BX), Y10
	VMOVDQU 96(BX), Y11
	VMOVDQU 128(BX), Y12
	VMOVDQU 160(BX), Y13
	VMOVDQU 192(BX), Y14
	SHRQ    $3, CX
	JZ      s3done

s3loop:
	VPSRLQ   $32, Y0, Y2
	VPBLENDD $0xAA, Y1, Y2, Y2
	VPADDQ   Y10, Y0, Y0
	VPADDQ   Y10, Y1, Y1
	VPSRLD   $16, Y2, Y3
	VPXOR    Y3, Y2, Y2
	VPMULLD  Y12, Y2, Y2
	VPSRLD   $13, Y2, Y3
	VPXOR    Y3, Y2, Y2
	VPMULLD  Y13, Y2, Y2
	VPSRLD   $16, Y2, Y3
	VPXOR    Y3, Y2, Y2
	VPMULUDQ Y11, Y2, Y4
	VPSRLQ   $32, Y2, Y5
	VPMULUDQ Y11, Y5, Y5
	VPSRLQ   $32, Y4, Y4
	VPBLENDD $0xAA, Y5, Y4, Y4 // idx
	// s = g<<31 | 1: negative where g is odd, positive elsewhere
	VPSLLD   $31, Y2, Y3
	VPOR     Y14, Y3, Y3
	// v: the low dwords of q[0..7] as (0,1,4,5 | 2,3,6,7), signed by s
	VMOVDQU  (DX), Y6
	VSHUFPS  $0x88, 32(DX), Y6, Y6
	VPSIGND  Y3, Y6, Y6
	VPUNPCKLDQ Y6, Y4, Y7
	VPUNPCKHDQ Y6, Y4, Y8
	VMOVDQU  Y7, (DI)
	VMOVDQU  Y8, 32(DI)
	ADDQ     $64, DI
	ADDQ     $64, DX
	DECQ     CX
	JNZ      s3loop

s3done:
	VZEROUPPER
	RET

// func scatter32AVX2(acc *uint32, pk *uint64, n int)
// acc[uint32(pk[j])] += uint32(pk[j]>>32) for j < n, n a multiple of 4
// (scalar code, in assembly for an unrolled, aligned loop: the Go loop's
// speed swung 2x with code layout). Every index must be in range
// (signRow3 makes them).
TEXT ·scatter32AVX2(SB), NOSPLIT, $0-24
	MOVQ acc+0(FP), DI
	MOVQ pk+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $2, CX
	JZ   scdone
	PCALIGN $32

scloop:
	MOVQ (SI), AX
	MOVQ 8(SI), BX
	MOVL AX, R8
	MOVL BX, R9
	SHRQ $32, AX
	SHRQ $32, BX
	ADDL AX, (DI)(R8*4)
	ADDL BX, (DI)(R9*4)
	MOVQ 16(SI), AX
	MOVQ 24(SI), BX
	MOVL AX, R8
	MOVL BX, R9
	SHRQ $32, AX
	SHRQ $32, BX
	ADDL AX, (DI)(R8*4)
	ADDL BX, (DI)(R9*4)
	ADDQ $32, SI
	DECQ CX
	JNZ  scloop

scdone:
	RET

// func gatherRowScalar(dst *float32, h *uint32, tr *float32, n int)
// dst[j] = tr[h[j]>>1] with its sign bit flipped when h[j]&1 (n a
// multiple of 4; every index in range, as hashRow makes them). Scalar
// loads: VPGATHERDD measured 1.3x slower on this AMD EPYC (GRU table).
TEXT ·gatherRowScalar(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ h+8(FP), SI
	MOVQ tr+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $2, CX
	JZ   gsdone
	PCALIGN $32

gsloop:
	MOVL (SI), AX
	MOVL 4(SI), BX
	MOVL AX, R8
	MOVL BX, R9
	SHRL $1, AX
	SHRL $1, BX
	SHLL $31, R8
	SHLL $31, R9
	XORL (DX)(AX*4), R8
	XORL (DX)(BX*4), R9
	MOVL R8, (DI)
	MOVL R9, 4(DI)
	MOVL 8(SI), AX
	MOVL 12(SI), BX
	MOVL AX, R8
	MOVL BX, R9
	SHRL $1, AX
	SHRL $1, BX
	SHLL $31, R8
	SHLL $31, R9
	XORL (DX)(AX*4), R8
	XORL (DX)(BX*4), R9
	MOVL R8, 8(DI)
	MOVL R9, 12(DI)
	ADDQ $16, SI
	ADDQ $16, DI
	DECQ CX
	JNZ  gsloop

gsdone:
	RET

// func estRow3AVX2(dst *float32, tr *float32, n int, c *hash3Const)
// Version 3, one row, n a multiple of 8: dst[j] = tr[h] with its sign bit
// flipped when the sign is negative, h and the sign those of coordinate
// start+j (the hash as hashRow3AVX2's); VPGATHERDD with the counters
// still in a register. Writes the advanced state back to c.za and c.zb.
TEXT ·estRow3AVX2(SB), NOSPLIT, $0-32
	MOVQ    dst+0(FP), DI
	MOVQ    tr+8(FP), DX
	MOVQ    n+16(FP), CX
	MOVQ    c+24(FP), BX
	VMOVDQU 0(BX), Y0
	VMOVDQU 32(BX), Y1
	VMOVDQU 64(BX), Y10
	VMOVDQU 96(BX), Y11
	VMOVDQU 128(BX), Y12
	VMOVDQU 160(BX), Y13
	SHRQ    $3, CX
	JZ      e3done

e3loop:
	VPSRLQ     $32, Y0, Y2
	VPBLENDD   $0xAA, Y1, Y2, Y2
	VPADDQ     Y10, Y0, Y0
	VPADDQ     Y10, Y1, Y1
	VPSRLD     $16, Y2, Y3
	VPXOR      Y3, Y2, Y2
	VPMULLD    Y12, Y2, Y2
	VPSRLD     $13, Y2, Y3
	VPXOR      Y3, Y2, Y2
	VPMULLD    Y13, Y2, Y2
	VPSRLD     $16, Y2, Y3
	VPXOR      Y3, Y2, Y2
	VPMULUDQ   Y11, Y2, Y4
	VPSRLQ     $32, Y2, Y5
	VPMULUDQ   Y11, Y5, Y5
	VPSRLQ     $32, Y4, Y4
	VPBLENDD   $0xAA, Y5, Y4, Y4 // counters
	VPSLLD     $31, Y2, Y2       // sign bits
	VPCMPEQD   Y6, Y6, Y6
	VPXOR      Y7, Y7, Y7
	VPGATHERDD Y6, (DX)(Y4*4), Y7
	VPXOR      Y2, Y7, Y7
	VMOVDQU    Y7, (DI)
	ADDQ       $32, DI
	DECQ       CX
	JNZ        e3loop

e3done:
	VMOVDQU Y0, 0(BX)
	VMOVDQU Y1, 32(BX)
	VZEROUPPER
	RET

DATA absMask<>+0(SB)/8, $0x7fffffff7fffffff
DATA absMask<>+8(SB)/8, $0x7fffffff7fffffff
DATA absMask<>+16(SB)/8, $0x7fffffff7fffffff
DATA absMask<>+24(SB)/8, $0x7fffffff7fffffff
GLOBL absMask<>(SB), RODATA|NOPTR, $32

// func passMaskAVX2(m *uint64, a *float32, n int, t float32)
// Bit j of m[w] = |a[64w+j]| >= t, for n a multiple of 64 (a NaN never
// passes; EstimateTop's fast path has none).
TEXT ·passMaskAVX2(SB), NOSPLIT, $0-28
	MOVQ         m+0(FP), DI
	MOVQ         a+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS t+24(FP), Y15
	VMOVDQU      absMask<>(SB), Y14
	SHRQ         $6, CX
	JZ           pmdone

pmloop:
	VANDPS    0(SI), Y14, Y0
	VANDPS    32(SI), Y14, Y1
	VANDPS    64(SI), Y14, Y2
	VANDPS    96(SI), Y14, Y3
	VCMPPS    $13, Y15, Y0, Y0
	VCMPPS    $13, Y15, Y1, Y1
	VCMPPS    $13, Y15, Y2, Y2
	VCMPPS    $13, Y15, Y3, Y3
	VMOVMSKPS Y0, R8
	VMOVMSKPS Y1, AX
	SHLQ      $8, AX
	ORQ       AX, R8
	VMOVMSKPS Y2, AX
	SHLQ      $16, AX
	ORQ       AX, R8
	VMOVMSKPS Y3, AX
	SHLQ      $24, AX
	ORQ       AX, R8
	VANDPS    128(SI), Y14, Y0
	VANDPS    160(SI), Y14, Y1
	VANDPS    192(SI), Y14, Y2
	VANDPS    224(SI), Y14, Y3
	VCMPPS    $13, Y15, Y0, Y0
	VCMPPS    $13, Y15, Y1, Y1
	VCMPPS    $13, Y15, Y2, Y2
	VCMPPS    $13, Y15, Y3, Y3
	VMOVMSKPS Y0, AX
	SHLQ      $32, AX
	ORQ       AX, R8
	VMOVMSKPS Y1, AX
	SHLQ      $40, AX
	ORQ       AX, R8
	VMOVMSKPS Y2, AX
	SHLQ      $48, AX
	ORQ       AX, R8
	VMOVMSKPS Y3, AX
	SHLQ      $56, AX
	ORQ       AX, R8
	MOVQ      R8, (DI)
	ADDQ      $256, SI
	ADDQ      $8, DI
	DECQ      CX
	JNZ       pmloop

pmdone:
	VZEROUPPER
	RET
