//go:build amd64 && !purego

#include "textflag.h"

// AVX2 twins of the hot loops in encode.go. Each does exactly the IEEE
// operations of the Go loop it replaces, one by one (VMULPD then VADDPD,
// never a fused multiply-add; conversions with the default rounding), so
// the results are the same bits; kernels_test.go checks them element by
// element against the Go loops.

DATA wyk<>+0(SB)/8, $0xe7037ed1a0b428db
DATA wyk<>+8(SB)/8, $0xe7037ed1a0b428db
DATA wyk<>+16(SB)/8, $0xe7037ed1a0b428db
DATA wyk<>+24(SB)/8, $0xe7037ed1a0b428db
GLOBL wyk<>(SB), RODATA|NOPTR, $32

DATA lo32<>+0(SB)/8, $0x00000000ffffffff
DATA lo32<>+8(SB)/8, $0x00000000ffffffff
DATA lo32<>+16(SB)/8, $0x00000000ffffffff
DATA lo32<>+24(SB)/8, $0x00000000ffffffff
GLOBL lo32<>(SB), RODATA|NOPTR, $32

DATA sign32<>+0(SB)/8, $0x8000000080000000
DATA sign32<>+8(SB)/8, $0x8000000080000000
DATA sign32<>+16(SB)/8, $0x8000000080000000
DATA sign32<>+24(SB)/8, $0x8000000080000000
GLOBL sign32<>(SB), RODATA|NOPTR, $32

// 2^31 and 2^-32 as float64.
DATA two31<>+0(SB)/8, $0x41e0000000000000
DATA two31<>+8(SB)/8, $0x41e0000000000000
DATA two31<>+16(SB)/8, $0x41e0000000000000
DATA two31<>+24(SB)/8, $0x41e0000000000000
GLOBL two31<>(SB), RODATA|NOPTR, $32

DATA twom32<>+0(SB)/8, $0x3df0000000000000
DATA twom32<>+8(SB)/8, $0x3df0000000000000
DATA twom32<>+16(SB)/8, $0x3df0000000000000
DATA twom32<>+24(SB)/8, $0x3df0000000000000
GLOBL twom32<>(SB), RODATA|NOPTR, $32

DATA zero4<>+0(SB)/8, $0
DATA zero4<>+8(SB)/8, $0
DATA zero4<>+16(SB)/8, $0
DATA zero4<>+24(SB)/8, $0
GLOBL zero4<>(SB), RODATA|NOPTR, $32

// The four 64-bit wyrand words of the lanes of Y0 (the counter states), as
// 8 uniform dwords in Y1 (coordinate order), then Y0 += Y15. Clobbers
// Y1..Y6.
#define WYRAND \
	VPXOR    wyk<>(SB), Y0, Y1 \
	VPSRLQ   $32, Y0, Y2 \
	VPSRLQ   $32, Y1, Y3 \
	VPMULUDQ Y1, Y0, Y4 \
	VPMULUDQ Y3, Y0, Y5 \
	VPMULUDQ Y1, Y2, Y1 \
	VPMULUDQ Y3, Y2, Y2 \
	VPSRLQ   $32, Y4, Y3 \
	VPAND    lo32<>(SB), Y5, Y6 \
	VPADDQ   Y6, Y3, Y3        \
	VPAND    lo32<>(SB), Y1, Y6 \
	VPADDQ   Y6, Y3, Y3        \
	VPAND    lo32<>(SB), Y4, Y4 \
	VPSLLQ   $32, Y3, Y6       \
	VPOR     Y6, Y4, Y4        \
	VPSRLQ   $32, Y5, Y5 \
	VPADDQ   Y5, Y2, Y2        \
	VPSRLQ   $32, Y1, Y1       \
	VPADDQ   Y1, Y2, Y2        \
	VPSRLQ   $32, Y3, Y3       \
	VPADDQ   Y3, Y2, Y2        \
	VPXOR    Y4, Y2, Y1 \
	VPADDQ   Y15, Y0, Y0

// Uniforms: Y2 (coordinates 0..3) and Y3 (4..7) = float64(uint32 r)·2^-32
// from the dwords of Y1.
#define UNIFORMS \
	VPXOR        sign32<>(SB), Y1, Y1 \
	VCVTDQ2PD    X1, Y2               \
	VEXTRACTI128 $1, Y1, X3           \
	VCVTDQ2PD    X3, Y3               \
	VADDPD       two31<>(SB), Y2, Y2  \
	VMULPD       twom32<>(SB), Y2, Y2 \
	VADDPD       two31<>(SB), Y3, Y3  \
	VMULPD       twom32<>(SB), Y3, Y3

// One group of four: Y4 holds y (already float64(x·mul)), U the uniforms;
// stores the four codes at off(DI). Clobbers Y4..Y6, U.
#define QUANT4(U, off) \
	VMULPD      Y13, Y4, Y4 \
	VADDPD      Y12, Y4, Y4 \
	VMAXPD      zero4<>(SB), Y4, Y4 \
	VMINPD      Y11, Y4, Y4 \
	VCVTTPD2DQY Y4, X5 \
	VCVTDQ2PD   X5, Y6              \
	VSUBPD      Y6, Y4, Y4 \
	VCMPPD      $1, Y4, U, U \
	VPMOVSXDQ   X5, Y5              \
	VPSUBQ      U, Y5, Y5 \
	VPSUBQ      Y9, Y5, Y5 \
	VPAND       Y10, Y5, Y5 \
	VMOVDQU     Y5, off(DI)

// qconst offsets: mul 0, inv 8, m 16, twoM 24, mask 32, mInt 40, c4 48.
#define QSETUP \
	MOVQ         dst+0(FP), DI     \
	MOVQ         src+8(FP), SI     \
	MOVQ         n+16(FP), CX      \
	MOVQ         st+24(FP), AX     \
	MOVQ         c+32(FP), BX      \
	VMOVDQU      (AX), Y0          \
	VBROADCASTSD 0(BX), Y14        \
	VBROADCASTSD 8(BX), Y13        \
	VBROADCASTSD 16(BX), Y12       \
	VBROADCASTSD 24(BX), Y11       \
	VPBROADCASTQ 32(BX), Y10       \
	VPBROADCASTQ 40(BX), Y9        \
	VPBROADCASTQ 48(BX), Y15       \
	SHRQ         $3, CX

// dconst offsets: mask 0, sb 8, bias 16 (magic bits − sb), magic 24
// (1.5·2^52), step 32, w 40.
#define DSETUP \
	MOVQ         sum+8(FP), SI  \
	MOVQ         n+16(FP), CX   \
	MOVQ         c+24(FP), BX   \
	VPBROADCASTQ 0(BX), Y10     \
	VPBROADCASTQ 8(BX), Y11     \
	VPBROADCASTQ 16(BX), Y12    \
	VBROADCASTSD 24(BX), Y13    \
	VBROADCASTSD 32(BX), Y14    \
	VBROADCASTSD 40(BX), Y15    \
	SHRQ         $2, CX

// Y1 = float64(signed B-bit value of (SI))·step, exactly: sign-extend by
// (x&mask ^ sb) − sb, convert with the 1.5·2^52 trick (|v| < 2^51).
#define DVAL(off, R) \
	VMOVDQU off(SI), R  \
	VPAND   Y10, R, R   \
	VPXOR   Y11, R, R   \
	VPADDQ  Y12, R, R   \
	VSUBPD  Y13, R, R   \
	VMULPD  Y14, R, R

// Levels 1 and 2 of the FWHT on X0 = a[i:i+4] and X1 = a[i+4:i+8] (two
// groups of four), in place: the butterflies of fwhtLevels' h = 1 pass.
#define FWHT4x2 \
	VUNPCKLPD  Y1, Y0, Y2 \
	VUNPCKHPD  Y1, Y0, Y3 \
	VADDPD     Y3, Y2, Y4 \
	VSUBPD     Y3, Y2, Y5 \
	VPERM2F128 $0x20, Y5, Y4, Y2 \
	VPERM2F128 $0x31, Y5, Y4, Y3 \
	VADDPD     Y3, Y2, Y4 \
	VSUBPD     Y3, Y2, Y5 \
	VUNPCKLPD  Y5, Y4, Y0 \
	VUNPCKHPD  Y5, Y4, Y1 \
	VPERMPD    $0xd8, Y0, Y0 \
	VPERMPD    $0xd8, Y1, Y1

// Four elements of B <= 56 bits from src at bit position R8: lane 0 holds
// the 16 bytes from byte R8/8, lane 1 those from byte (R8+2B)/8; the
// phase's table entry (R8 mod 8) moves each element's 8 bytes into its
// qword (VPSHUFB) and shifts it down (VPSRLVQ). Y0 = the four elements.
#define UNPACK4 \
	MOVQ        R8, AX \
	SHRQ        $3, AX \
	LEAQ        (R8)(R10*1), DX \
	SHRQ        $3, DX \
	MOVQ        R8, BX \
	ANDQ        $7, BX \
	SHLQ        $6, BX \
	VMOVDQU     (SI)(AX*1), X0 \
	VINSERTI128 $1, (SI)(DX*1), Y0, Y0 \
	VPSHUFB     (R11)(BX*1), Y0, Y0 \
	VPSRLVQ     32(R11)(BX*1), Y0, Y0 \
	VPAND       Y15, Y0, Y0

#define USETUP \
	MOVQ         dst+0(FP), DI \
	MOVQ         src+8(FP), SI \
	MOVQ         quads+16(FP), CX \
	MOVQ         c+24(FP), R11 \
	VPBROADCASTQ 512(R11), Y15 \
	MOVQ         520(R11), R9 \
	MOVQ         R9, R10 \
	SHLQ         $1, R10 \
	XORQ         R8, R8 \
	TESTQ        CX, CX

DATA bitlo<>+0(SB)/8, $1
DATA bitlo<>+8(SB)/8, $2
DATA bitlo<>+16(SB)/8, $4
DATA bitlo<>+24(SB)/8, $8
GLOBL bitlo<>(SB), RODATA|NOPTR, $32

DATA bithi<>+0(SB)/8, $16
DATA bithi<>+8(SB)/8, $32
DATA bithi<>+16(SB)/8, $64
DATA bithi<>+24(SB)/8, $128
GLOBL bithi<>(SB), RODATA|NOPTR, $32

// Y7 and Y8: the float64 sign-bit masks of elements 0..3 and 4..7 from the
// byte at (DX) (bit i set: element i negated). Clobbers AX, Y6.
#define SIGNS8 \
	MOVBQZX      (DX), AX \
	VMOVQ        AX, X6 \
	VPBROADCASTQ X6, Y6 \
	VPAND        bitlo<>(SB), Y6, Y7 \
	VPCMPEQQ     bitlo<>(SB), Y7, Y7 \
	VPSLLQ       $63, Y7, Y7 \
	VPAND        bithi<>(SB), Y6, Y8 \
	VPCMPEQQ     bithi<>(SB), Y8, Y8 \
	VPSLLQ       $63, Y8, Y8

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

// func sumSquaresAVX2(x *float32, n int, s *[4]float64)
// s[k] = Σ float64(x[i])² over i ≡ k (mod 4), i < n&^3, added in order.
TEXT ·sumSquaresAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ s+16(FP), DI
	VXORPD Y0, Y0, Y0
	SHRQ $2, CX
	JZ   ssdone

ssloop:
	VCVTPS2PD (SI), Y1
	VMULPD    Y1, Y1, Y1
	VADDPD    Y1, Y0, Y0
	ADDQ      $16, SI
	DECQ      CX
	JNZ       ssloop

ssdone:
	VMOVUPD Y0, (DI)
	VZEROUPPER
	RET

// func quantF32AVX2(dst *uint64, src *float32, n int, st *[4]uint64, c *qconst)
// Version 2's quantizeCounter for n (a multiple of 8) float32 inputs; st
// holds the counter states of the first four words.
TEXT ·quantF32AVX2(SB), NOSPLIT, $0-40
	QSETUP
	JZ qfdone

qfloop:
	WYRAND
	UNIFORMS
	VCVTPS2PD (SI), Y4
	VMULPD    Y14, Y4, Y4
	QUANT4(Y2, 0)
	VCVTPS2PD 16(SI), Y4
	VMULPD    Y14, Y4, Y4
	QUANT4(Y3, 32)
	ADDQ      $32, SI
	ADDQ      $64, DI
	DECQ      CX
	JNZ       qfloop

qfdone:
	VZEROUPPER
	RET

// func quantF64AVX2(dst *uint64, src *float64, n int, st *[4]uint64, c *qconst)
TEXT ·quantF64AVX2(SB), NOSPLIT, $0-40
	QSETUP
	JZ qddone

qdloop:
	WYRAND
	UNIFORMS
	VMOVUPD (SI), Y4
	VMULPD  Y14, Y4, Y4
	QUANT4(Y2, 0)
	VMOVUPD 32(SI), Y4
	VMULPD  Y14, Y4, Y4
	QUANT4(Y3, 32)
	ADDQ    $64, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     qdloop

qddone:
	VZEROUPPER
	RET

// func decodeF32AVX2(out *float32, sum *uint64, n int, c *dconst)
// out[i] = float32(float64(float64(v_i)·step)·w) for n (multiple of 4).
TEXT ·decodeF32AVX2(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	DSETUP
	JZ dfdone

dfloop:
	DVAL(0, Y1)
	VMULPD     Y15, Y1, Y1
	VCVTPD2PSY Y1, X1
	VMOVUPS    X1, (DI)
	ADDQ       $32, SI
	ADDQ       $16, DI
	DECQ       CX
	JNZ        dfloop

dfdone:
	VZEROUPPER
	RET

// func decodeF64AVX2(out *float64, sum *uint64, n int, c *dconst)
// out[i] = float64(float64(v_i)·step) for n (multiple of 4).
TEXT ·decodeF64AVX2(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	DSETUP
	JZ dddone

ddloop:
	DVAL(0, Y1)
	VMOVUPD Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     ddloop

dddone:
	VZEROUPPER
	RET

// func fwhtRadix4AVX2(a *float64, n, h int)
// Levels h and 2h of the FWHT over a[0:n] (h a multiple of 4, 4h <= n):
// the radix-4 pass of fwhtLevels, four j at a time.
TEXT ·fwhtRadix4AVX2(SB), NOSPLIT, $0-24
	MOVQ a+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ h+16(FP), DX
	MOVQ DX, R8
	SHLQ $3, R8      // h in bytes
	MOVQ DX, R13
	SHLQ $2, R13     // 4h elements per block
	SHRQ $2, DX      // inner iterations

r4block:
	MOVQ SI, R9
	LEAQ (SI)(R8*1), R10
	LEAQ (R10)(R8*1), R11
	LEAQ (R11)(R8*1), R12
	MOVQ DX, BX

r4inner:
	VMOVUPD (R9), Y0
	VMOVUPD (R10), Y1
	VMOVUPD (R11), Y2
	VMOVUPD (R12), Y3
	VADDPD  Y1, Y0, Y4 // s0 = x0+x1
	VSUBPD  Y1, Y0, Y5 // d0 = x0−x1
	VADDPD  Y3, Y2, Y6 // s1 = x2+x3
	VSUBPD  Y3, Y2, Y7 // d1 = x2−x3
	VADDPD  Y6, Y4, Y0
	VSUBPD  Y6, Y4, Y2
	VADDPD  Y7, Y5, Y1
	VSUBPD  Y7, Y5, Y3
	VMOVUPD Y0, (R9)
	VMOVUPD Y1, (R10)
	VMOVUPD Y2, (R11)
	VMOVUPD Y3, (R12)
	ADDQ    $32, R9
	ADDQ    $32, R10
	ADDQ    $32, R11
	ADDQ    $32, R12
	DECQ    BX
	JNZ     r4inner

	MOVQ R12, SI     // next block
	SUBQ R13, CX
	JNZ  r4block
	VZEROUPPER
	RET

// func fwhtRadix2AVX2(a *float64, n, h int)
// One level h of the FWHT over a[0:n] (h a multiple of 4, 2h <= n).
TEXT ·fwhtRadix2AVX2(SB), NOSPLIT, $0-24
	MOVQ a+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ h+16(FP), DX
	MOVQ DX, R8
	SHLQ $3, R8
	MOVQ DX, R13
	SHLQ $1, R13
	SHRQ $2, DX

r2block:
	MOVQ SI, R9
	LEAQ (SI)(R8*1), R10
	MOVQ DX, BX

r2inner:
	VMOVUPD (R9), Y0
	VMOVUPD (R10), Y1
	VADDPD  Y1, Y0, Y2
	VSUBPD  Y1, Y0, Y3
	VMOVUPD Y2, (R9)
	VMOVUPD Y3, (R10)
	ADDQ    $32, R9
	ADDQ    $32, R10
	DECQ    BX
	JNZ     r2inner

	MOVQ R10, SI
	SUBQ R13, CX
	JNZ  r2block
	VZEROUPPER
	RET

// func cvtScaleAVX2(y *float64, x *float32, n int, c float64)
// y[i] = float64(float64(x[i])·c) for n (multiple of 4).
TEXT ·cvtScaleAVX2(SB), NOSPLIT, $0-32
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSD c+24(FP), Y15
	SHRQ         $2, CX
	JZ           csdone

csloop:
	VCVTPS2PD (SI), Y0
	VMULPD    Y15, Y0, Y0
	VMOVUPD   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       csloop

csdone:
	VZEROUPPER
	RET

// func scaleAVX2(y *float64, n int, c float64)
// y[i] = float64(y[i]·c) for n (multiple of 4).
TEXT ·scaleAVX2(SB), NOSPLIT, $0-24
	MOVQ         y+0(FP), DI
	MOVQ         n+8(FP), CX
	VBROADCASTSD c+16(FP), Y15
	SHRQ         $2, CX
	JZ           scdone

scloop:
	VMULPD  (DI), Y15, Y0
	VMOVUPD Y0, (DI)
	ADDQ    $32, DI
	DECQ    CX
	JNZ     scloop

scdone:
	VZEROUPPER
	RET


// func toF32AVX2(out *float32, z *float64, n int, c float64)
// out[i] = float32(z[i]·c) for n (multiple of 4).
TEXT ·toF32AVX2(SB), NOSPLIT, $0-32
	MOVQ         out+0(FP), DI
	MOVQ         z+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSD c+24(FP), Y15
	SHRQ         $2, CX
	JZ           tfdone

tfloop:
	VMULPD     (SI), Y15, Y0
	VCVTPD2PSY Y0, X0
	VMOVUPS    X0, (DI)
	ADDQ       $32, SI
	ADDQ       $16, DI
	DECQ       CX
	JNZ        tfloop

tfdone:
	VZEROUPPER
	RET


// func fwht4AVX2(a *float64, n int)
// fwhtLevels' h = 1 pass (levels 1 and 2 in groups of four) for n (a
// multiple of 8).
TEXT ·fwht4AVX2(SB), NOSPLIT, $0-16
	MOVQ a+0(FP), DI
	MOVQ n+8(FP), CX
	SHRQ $3, CX
	JZ   f4done

f4loop:
	VMOVUPD (DI), Y0
	VMOVUPD 32(DI), Y1
	FWHT4x2
	VMOVUPD Y0, (DI)
	VMOVUPD Y1, 32(DI)
	ADDQ    $64, DI
	DECQ    CX
	JNZ     f4loop

f4done:
	VZEROUPPER
	RET


// func packAVX2(out *byte, v *uint64, groups int, c *packConst)
// Packs groups×8 elements at B <= 32 bits (c's constants, see packConst):
// each group of 8 is B bytes. Pairs are merged in 64-bit lanes, pairs of
// pairs in 128-bit lanes, the upper lane is shifted by 4B mod 8 bits and
// takes lane 0's last, shared byte; lane 0 is stored at out, lane 1 at
// out+4B/8 (16 bytes each: the caller leaves room).
TEXT ·packAVX2(SB), NOSPLIT, $0-32
	MOVQ    out+0(FP), DI
	MOVQ    v+8(FP), SI
	MOVQ    groups+16(FP), CX
	MOVQ    c+24(FP), BX
	VMOVDQU 0(BX), Y15
	VMOVDQU 32(BX), Y14
	VMOVDQU 64(BX), Y13
	VMOVDQU 96(BX), Y12
	VMOVDQU 128(BX), Y11
	VMOVDQU 160(BX), Y10
	VMOVDQU 192(BX), Y9
	VMOVDQU 224(BX), Y8
	MOVQ    256(BX), R9  // B bytes per group
	MOVQ    264(BX), R8  // 4B/8
	TESTQ   CX, CX
	JZ      pkdone

pkloop:
	VMOVDQU      (SI), Y0
	VMOVDQU      32(SI), Y1
	VPAND        Y15, Y0, Y0
	VPAND        Y15, Y1, Y1
	VPSLLVQ      Y14, Y0, Y0
	VPSLLVQ      Y14, Y1, Y1
	VPSRLDQ      $8, Y0, Y2
	VPSRLDQ      $8, Y1, Y3
	VPOR         Y2, Y0, Y0
	VPOR         Y3, Y1, Y1
	VPUNPCKLQDQ  Y1, Y0, Y0
	VPERMQ       $0xd8, Y0, Y0
	VPSHUFD      $0x4e, Y0, Y1
	VPSLLVQ      Y13, Y1, Y1
	VPSRLVQ      Y12, Y0, Y2
	VPAND        Y11, Y0, Y0
	VPOR         Y1, Y0, Y0
	VPOR         Y2, Y0, Y0
	VPSLLVQ      Y10, Y0, Y1
	VPSRLVQ      Y9, Y0, Y2
	VPSLLDQ      $8, Y2, Y2
	VPOR         Y2, Y1, Y0
	VPERM2I128   $0x00, Y0, Y0, Y1
	VPSHUFB      Y8, Y1, Y1
	VPOR         Y1, Y0, Y0
	VMOVDQU      X0, (DI)
	VEXTRACTI128 $1, Y0, X1
	VMOVDQU      X1, (DI)(R8*1)
	ADDQ         $64, SI
	ADDQ         R9, DI
	DECQ         CX
	JNZ          pkloop

pkdone:
	VZEROUPPER
	RET

// func unpackAVX2(dst *uint64, src *byte, quads int, c *unpackConst)
// dst[i] = element i for i < 4·quads (the caller checks that every
// 16-byte load stays inside src).
TEXT ·unpackAVX2(SB), NOSPLIT, $0-32
	USETUP
	JZ upkdone

upkloop:
	UNPACK4
	VMOVDQU Y0, (DI)
	ADDQ    R10, R8
	ADDQ    R10, R8
	ADDQ    $32, DI
	DECQ    CX
	JNZ     upkloop

upkdone:
	VZEROUPPER
	RET

// func unpackAddAVX2(dst *uint64, src *byte, quads int, c *unpackConst)
// dst[i] = (dst[i] + element i) mod 2^B for i < 4·quads.
TEXT ·unpackAddAVX2(SB), NOSPLIT, $0-32
	USETUP
	JZ upadone

upaloop:
	UNPACK4
	VPADDQ  (DI), Y0, Y0
	VPAND   Y15, Y0, Y0
	VMOVDQU Y0, (DI)
	ADDQ    R10, R8
	ADDQ    R10, R8
	ADDQ    $32, DI
	DECQ    CX
	JNZ     upaloop

upadone:
	VZEROUPPER
	RET

// func fwht4CvtSignsAVX2(a *float64, x *float32, sb *byte, n int, c float64)
// a[i] = ±float64(float64(x[i])·c) (sign bit i of sb), then fwht4AVX2's
// pass, for n (a multiple of 8).
TEXT ·fwht4CvtSignsAVX2(SB), NOSPLIT, $0-40
	MOVQ         a+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         sb+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSD c+32(FP), Y15
	SHRQ         $3, CX
	JZ           f4cdone

f4cloop:
	SIGNS8
	VCVTPS2PD (SI), Y0
	VCVTPS2PD 16(SI), Y1
	VMULPD    Y15, Y0, Y0
	VMULPD    Y15, Y1, Y1
	VXORPD    Y7, Y0, Y0
	VXORPD    Y8, Y1, Y1
	FWHT4x2
	VMOVUPD   Y0, (DI)
	VMOVUPD   Y1, 32(DI)
	ADDQ      $32, SI
	ADDQ      $64, DI
	INCQ      DX
	DECQ      CX
	JNZ       f4cloop

f4cdone:
	VZEROUPPER
	RET

// func fwht4SignBitsAVX2(a *float64, sb *byte, n int)
// a[i] = ±a[i] (sign bit i of sb), then fwht4AVX2's pass, for n (a
// multiple of 8).
TEXT ·fwht4SignBitsAVX2(SB), NOSPLIT, $0-24
	MOVQ a+0(FP), DI
	MOVQ sb+8(FP), DX
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   f4bdone

f4bloop:
	SIGNS8
	VMOVUPD (DI), Y0
	VMOVUPD 32(DI), Y1
	VXORPD  Y7, Y0, Y0
	VXORPD  Y8, Y1, Y1
	FWHT4x2
	VMOVUPD Y0, (DI)
	VMOVUPD Y1, 32(DI)
	ADDQ    $64, DI
	INCQ    DX
	DECQ    CX
	JNZ     f4bloop

f4bdone:
	VZEROUPPER
	RET

// func scaleSignBitsAVX2(y *float64, sb *byte, n int, c float64)
// y[i] = ±float64(y[i]·c) (sign bit i of sb) for n (a multiple of 8).
TEXT ·scaleSignBitsAVX2(SB), NOSPLIT, $0-32
	MOVQ         y+0(FP), DI
	MOVQ         sb+8(FP), DX
	MOVQ         n+16(FP), CX
	VBROADCASTSD c+24(FP), Y15
	SHRQ         $3, CX
	JZ           ssbdone

ssbloop:
	SIGNS8
	VMULPD  (DI), Y15, Y0
	VMULPD  32(DI), Y15, Y1
	VXORPD  Y7, Y0, Y0
	VXORPD  Y8, Y1, Y1
	VMOVUPD Y0, (DI)
	VMOVUPD Y1, 32(DI)
	ADDQ    $64, DI
	INCQ    DX
	DECQ    CX
	JNZ     ssbloop

ssbdone:
	VZEROUPPER
	RET

// func scaleSignBitsF32AVX2(out *float32, z *float64, sb *byte, n int, c, w float64)
// out[i] = float32(±float64(z[i]·c)·w) (sign bit i of sb) for n (a
// multiple of 8).
TEXT ·scaleSignBitsF32AVX2(SB), NOSPLIT, $0-48
	MOVQ         out+0(FP), DI
	MOVQ         z+8(FP), SI
	MOVQ         sb+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSD c+32(FP), Y15
	VBROADCASTSD w+40(FP), Y14
	SHRQ         $3, CX
	JZ           ssfdone

ssfloop:
	SIGNS8
	VMULPD     (SI), Y15, Y0
	VMULPD     32(SI), Y15, Y1
	VXORPD     Y7, Y0, Y0
	VXORPD     Y8, Y1, Y1
	VMULPD     Y14, Y0, Y0
	VMULPD     Y14, Y1, Y1
	VCVTPD2PSY Y0, X0
	VCVTPD2PSY Y1, X1
	VMOVUPS    X0, (DI)
	VMOVUPS    X1, 16(DI)
	ADDQ       $64, SI
	ADDQ       $32, DI
	INCQ       DX
	DECQ       CX
	JNZ        ssfloop

ssfdone:
	VZEROUPPER
	RET

// func fwhtRadix8AVX2(a *float64, n, h int)
// Levels h, 2h and 4h of the FWHT over a[0:n] (h a multiple of 4, 8h <=
// n) in one pass: eight streams, four j at a time, the butterflies of the
// three levels in order.
TEXT ·fwhtRadix8AVX2(SB), NOSPLIT, $0-24
	MOVQ a+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ h+16(FP), DX
	MOVQ DX, R8
	SHLQ $3, R8      // h in bytes
	MOVQ DX, R13
	SHLQ $3, R13     // 8h elements per block
	SHRQ $2, DX      // inner iterations

r8block:
	MOVQ SI, R9                // p0
	LEAQ (SI)(R8*2), R10
	ADDQ R8, R10               // p3
	LEAQ (SI)(R8*4), R12       // p4
	MOVQ DX, BX

r8inner:
	VMOVUPD (R9), Y0
	VMOVUPD (R9)(R8*1), Y1
	VMOVUPD (R9)(R8*2), Y2
	VMOVUPD (R10), Y3
	VMOVUPD (R12), Y4
	VMOVUPD (R12)(R8*1), Y5
	VMOVUPD (R12)(R8*2), Y6
	VMOVUPD (R10)(R8*4), Y7
	// level h
	VADDPD  Y1, Y0, Y8
	VSUBPD  Y1, Y0, Y9
	VADDPD  Y3, Y2, Y10
	VSUBPD  Y3, Y2, Y11
	VADDPD  Y5, Y4, Y12
	VSUBPD  Y5, Y4, Y13
	VADDPD  Y7, Y6, Y14
	VSUBPD  Y7, Y6, Y15
	// level 2h: (0,2) (1,3) (4,6) (5,7)
	VADDPD  Y10, Y8, Y0
	VSUBPD  Y10, Y8, Y2
	VADDPD  Y11, Y9, Y1
	VSUBPD  Y11, Y9, Y3
	VADDPD  Y14, Y12, Y4
	VSUBPD  Y14, Y12, Y6
	VADDPD  Y15, Y13, Y5
	VSUBPD  Y15, Y13, Y7
	// level 4h: (0,4) (1,5) (2,6) (3,7)
	VADDPD  Y4, Y0, Y8
	VSUBPD  Y4, Y0, Y12
	VADDPD  Y5, Y1, Y9
	VSUBPD  Y5, Y1, Y13
	VADDPD  Y6, Y2, Y10
	VSUBPD  Y6, Y2, Y14
	VADDPD  Y7, Y3, Y11
	VSUBPD  Y7, Y3, Y15
	VMOVUPD Y8, (R9)
	VMOVUPD Y9, (R9)(R8*1)
	VMOVUPD Y10, (R9)(R8*2)
	VMOVUPD Y11, (R10)
	VMOVUPD Y12, (R12)
	VMOVUPD Y13, (R12)(R8*1)
	VMOVUPD Y14, (R12)(R8*2)
	VMOVUPD Y15, (R10)(R8*4)
	ADDQ    $32, R9
	ADDQ    $32, R10
	ADDQ    $32, R12
	DECQ    BX
	JNZ     r8inner

	LEAQ (SI)(R13*8), SI // next block: 8h elements on
	SUBQ R13, CX
	JNZ  r8block
	VZEROUPPER
	RET
