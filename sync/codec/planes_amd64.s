//go:build amd64 && !purego

#include "textflag.h"

// Byte-plane transposes for the download codecs: the same bytes as the Go
// loops of encodeF32 and encodeBF16 (planes_test.go compares them).

// Within each 128-bit lane: bytes k, 4+k, 8+k, 12+k to dword k.
DATA bytesByPlane<>+0(SB)/8, $0x0d0905010c080400
DATA bytesByPlane<>+8(SB)/8, $0x0f0b07030e0a0602
DATA bytesByPlane<>+16(SB)/8, $0x0d0905010c080400
DATA bytesByPlane<>+24(SB)/8, $0x0f0b07030e0a0602
GLOBL bytesByPlane<>(SB), RODATA|NOPTR, $32

// Dwords 0,4,1,5,2,6,3,7: qword k = plane k of eight values.
DATA dwordsByPlane<>+0(SB)/8, $0x0000000400000000
DATA dwordsByPlane<>+8(SB)/8, $0x0000000500000001
DATA dwordsByPlane<>+16(SB)/8, $0x0000000600000002
DATA dwordsByPlane<>+24(SB)/8, $0x0000000700000003
GLOBL dwordsByPlane<>(SB), RODATA|NOPTR, $32

DATA absMask<>+0(SB)/8, $0x7fffffff7fffffff
DATA absMask<>+8(SB)/8, $0x7fffffff7fffffff
DATA absMask<>+16(SB)/8, $0x7fffffff7fffffff
DATA absMask<>+24(SB)/8, $0x7fffffff7fffffff
GLOBL absMask<>(SB), RODATA|NOPTR, $32

DATA infBits<>+0(SB)/8, $0x7f8000007f800000
DATA infBits<>+8(SB)/8, $0x7f8000007f800000
DATA infBits<>+16(SB)/8, $0x7f8000007f800000
DATA infBits<>+24(SB)/8, $0x7f8000007f800000
GLOBL infBits<>(SB), RODATA|NOPTR, $32

DATA round7fff<>+0(SB)/8, $0x00007fff00007fff
DATA round7fff<>+8(SB)/8, $0x00007fff00007fff
DATA round7fff<>+16(SB)/8, $0x00007fff00007fff
DATA round7fff<>+24(SB)/8, $0x00007fff00007fff
GLOBL round7fff<>(SB), RODATA|NOPTR, $32

DATA one32<>+0(SB)/8, $0x0000000100000001
DATA one32<>+8(SB)/8, $0x0000000100000001
DATA one32<>+16(SB)/8, $0x0000000100000001
DATA one32<>+24(SB)/8, $0x0000000100000001
GLOBL one32<>(SB), RODATA|NOPTR, $32

DATA quiet40<>+0(SB)/8, $0x0000004000000040
DATA quiet40<>+8(SB)/8, $0x0000004000000040
DATA quiet40<>+16(SB)/8, $0x0000004000000040
DATA quiet40<>+24(SB)/8, $0x0000004000000040
GLOBL quiet40<>(SB), RODATA|NOPTR, $32

// Y0..Y3 (32 values, one dword each, plane bytes grouped per qword by
// BYPLANE) -> Y4 = plane 0's 32 bytes, Y5 = plane 1's, Y6 = plane 2's,
// Y7 = plane 3's. Clobbers Y0..Y3, Y8, Y9.
#define TRANSPOSE \
	VPUNPCKLQDQ Y1, Y0, Y8 \
	VPUNPCKHQDQ Y1, Y0, Y9 \
	VPUNPCKLQDQ Y3, Y2, Y0 \
	VPUNPCKHQDQ Y3, Y2, Y1 \
	VPERM2I128  $0x20, Y0, Y8, Y4 \
	VPERM2I128  $0x31, Y0, Y8, Y6 \
	VPERM2I128  $0x20, Y1, Y9, Y5 \
	VPERM2I128  $0x31, Y1, Y9, Y7

#define BYPLANE(R) \
	VPSHUFB Y15, R, R \
	VPERMD  R, Y14, R

// func splitF32AVX2(p *byte, x, base *float32, n, stride int)
// Plane k of value i (bits of x[i], XOR base[i]'s when base is not nil) to
// p[k·stride + i], for n (a multiple of 32) values.
TEXT ·splitF32AVX2(SB), NOSPLIT, $0-40
	MOVQ    p+0(FP), DI
	MOVQ    x+8(FP), SI
	MOVQ    base+16(FP), R8
	MOVQ    n+24(FP), CX
	MOVQ    stride+32(FP), R9
	LEAQ    (R9)(R9*2), R10
	VMOVDQU bytesByPlane<>(SB), Y15
	VMOVDQU dwordsByPlane<>(SB), Y14
	SHRQ    $5, CX
	JZ      sfdone

sfloop:
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1
	VMOVDQU 64(SI), Y2
	VMOVDQU 96(SI), Y3
	TESTQ   R8, R8
	JZ      sfnobase
	VPXOR   (R8), Y0, Y0
	VPXOR   32(R8), Y1, Y1
	VPXOR   64(R8), Y2, Y2
	VPXOR   96(R8), Y3, Y3
	ADDQ    $128, R8

sfnobase:
	BYPLANE(Y0)
	BYPLANE(Y1)
	BYPLANE(Y2)
	BYPLANE(Y3)
	TRANSPOSE
	VMOVDQU Y4, (DI)
	VMOVDQU Y5, (DI)(R9*1)
	VMOVDQU Y6, (DI)(R9*2)
	VMOVDQU Y7, (DI)(R10*1)
	ADDQ    $128, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     sfloop

sfdone:
	VZEROUPPER
	RET

// bf16 of the dwords of R (quant.BF16: NaN -> high half | 0x40, else round
// to nearest even), in the low half of each dword. Clobbers Y10..Y12.
#define BF16(R) \
	VPAND     absMask<>(SB), R, Y10 \
	VPCMPGTD  infBits<>(SB), Y10, Y10 \
	VPSRLD    $16, R, Y11 \
	VPAND     one32<>(SB), Y11, Y12 \
	VPOR      quiet40<>(SB), Y11, Y11 \
	VPADDD    round7fff<>(SB), R, R \
	VPADDD    Y12, R, R \
	VPSRLD    $16, R, R \
	VPBLENDVB Y10, Y11, R, R

// func splitBF16AVX2(p *byte, x, base *float32, n, stride int)
// Halves of bf16(x[i] − base[i]) (base may be nil) to p[i] and
// p[stride + i], for n (a multiple of 32) values.
TEXT ·splitBF16AVX2(SB), NOSPLIT, $0-40
	MOVQ    p+0(FP), DI
	MOVQ    x+8(FP), SI
	MOVQ    base+16(FP), R8
	MOVQ    n+24(FP), CX
	MOVQ    stride+32(FP), R9
	VMOVDQU bytesByPlane<>(SB), Y15
	VMOVDQU dwordsByPlane<>(SB), Y14
	SHRQ    $5, CX
	JZ      sbdone

sbloop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	TESTQ   R8, R8
	JZ      sbnobase
	VSUBPS  (R8), Y0, Y0
	VSUBPS  32(R8), Y1, Y1
	VSUBPS  64(R8), Y2, Y2
	VSUBPS  96(R8), Y3, Y3
	ADDQ    $128, R8

sbnobase:
	BF16(Y0)
	BF16(Y1)
	BF16(Y2)
	BF16(Y3)
	BYPLANE(Y0)
	BYPLANE(Y1)
	BYPLANE(Y2)
	BYPLANE(Y3)
	TRANSPOSE
	VMOVDQU Y4, (DI)
	VMOVDQU Y5, (DI)(R9*1)
	ADDQ    $128, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     sbloop

sbdone:
	VZEROUPPER
	RET
