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

DATA dwordsFromPlane<>+0(SB)/8, $0x0000000200000000
DATA dwordsFromPlane<>+8(SB)/8, $0x0000000600000004
DATA dwordsFromPlane<>+16(SB)/8, $0x0000000300000001
DATA dwordsFromPlane<>+24(SB)/8, $0x0000000700000005
GLOBL dwordsFromPlane<>(SB), RODATA|NOPTR, $32

DATA expMask<>+0(SB)/8, $0x7f8000007f800000
DATA expMask<>+8(SB)/8, $0x7f8000007f800000
DATA expMask<>+16(SB)/8, $0x7f8000007f800000
DATA expMask<>+24(SB)/8, $0x7f8000007f800000
GLOBL expMask<>(SB), RODATA|NOPTR, $32

DATA expOne<>+0(SB)/8, $0x0080000000800000
DATA expOne<>+8(SB)/8, $0x0080000000800000
DATA expOne<>+16(SB)/8, $0x0080000000800000
DATA expOne<>+24(SB)/8, $0x0080000000800000
GLOBL expOne<>(SB), RODATA|NOPTR, $32

// Y13 |= (bits(R) & 0x7f800000) + 0x00800000: bit 31 set iff some value
// is NaN or ±Inf. Clobbers Y12.
#define FLAG(R) \
	VPAND  expMask<>(SB), R, Y12 \
	VPADDD expOne<>(SB), Y12, Y12 \
	VPOR   Y12, Y13, Y13

#define FROMPLANE(R) \
	VPERMD  R, Y14, R \
	VPSHUFB Y15, R, R

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

// func mergeF32AVX2(vals *float32, p *byte, base *float32, n, stride int) uint32
// vals[i] = bits p[i] | p[stride+i]<<8 | p[2·stride+i]<<16 |
// p[3·stride+i]<<24 (XOR base[i]'s when base is not nil) for n (a multiple
// of 32); returns f32FromPlanes' flag of those values.
TEXT ·mergeF32AVX2(SB), NOSPLIT, $0-44
	MOVQ    vals+0(FP), DI
	MOVQ    p+8(FP), SI
	MOVQ    base+16(FP), R8
	MOVQ    n+24(FP), CX
	MOVQ    stride+32(FP), R9
	LEAQ    (R9)(R9*2), R10
	VMOVDQU bytesByPlane<>(SB), Y15
	VMOVDQU dwordsFromPlane<>(SB), Y14
	VPXOR   Y13, Y13, Y13
	SHRQ    $5, CX
	JZ      mfdone

mfloop:
	VMOVDQU (SI), Y0
	VMOVDQU (SI)(R9*1), Y1
	VMOVDQU (SI)(R9*2), Y2
	VMOVDQU (SI)(R10*1), Y3
	TRANSPOSE
	FROMPLANE(Y4)
	FROMPLANE(Y5)
	FROMPLANE(Y6)
	FROMPLANE(Y7)
	TESTQ   R8, R8
	JZ      mfnobase
	VPXOR   (R8), Y4, Y4
	VPXOR   32(R8), Y5, Y5
	VPXOR   64(R8), Y6, Y6
	VPXOR   96(R8), Y7, Y7
	ADDQ    $128, R8

mfnobase:
	FLAG(Y4)
	FLAG(Y5)
	FLAG(Y6)
	FLAG(Y7)
	VMOVDQU Y4, (DI)
	VMOVDQU Y5, 32(DI)
	VMOVDQU Y6, 64(DI)
	VMOVDQU Y7, 96(DI)
	ADDQ    $32, SI
	ADDQ    $128, DI
	DECQ    CX
	JNZ     mfloop

mfdone:
	VEXTRACTI128 $1, Y13, X12
	VPOR         X12, X13, X13
	VPSHUFD      $0x4e, X13, X12
	VPOR         X12, X13, X13
	VPSHUFD      $0xb1, X13, X12
	VPOR         X12, X13, X13
	VMOVD        X13, AX
	MOVL         AX, ret+40(FP)
	VZEROUPPER
	RET

// func mergeBF16AVX2(vals *float32, p *byte, base *float32, n, stride int) uint32
// vals[i] = FromBF16(p[i] | p[stride+i]<<8) (+ base[i] when base is not
// nil) for n (a multiple of 32); returns the flag of those values.
TEXT ·mergeBF16AVX2(SB), NOSPLIT, $0-44
	MOVQ    vals+0(FP), DI
	MOVQ    p+8(FP), SI
	MOVQ    base+16(FP), R8
	MOVQ    n+24(FP), CX
	MOVQ    stride+32(FP), R9
	VPXOR   Y13, Y13, Y13
	VPXOR   Y11, Y11, Y11
	SHRQ    $5, CX
	JZ      mbdone

mbloop:
	VMOVDQU    (SI), Y0
	VMOVDQU    (SI)(R9*1), Y1
	VPUNPCKLBW Y1, Y0, Y2 // halves of values 0-7 | 16-23
	VPUNPCKHBW Y1, Y0, Y3 // 8-15 | 24-31
	VPUNPCKLWD Y2, Y11, Y4 // bits of 0-3 | 16-19
	VPUNPCKHWD Y2, Y11, Y5 // 4-7 | 20-23
	VPUNPCKLWD Y3, Y11, Y6 // 8-11 | 24-27
	VPUNPCKHWD Y3, Y11, Y7 // 12-15 | 28-31
	VPERM2I128 $0x20, Y5, Y4, Y0 // 0-7
	VPERM2I128 $0x20, Y7, Y6, Y1 // 8-15
	VPERM2I128 $0x31, Y5, Y4, Y2 // 16-23
	VPERM2I128 $0x31, Y7, Y6, Y3 // 24-31
	TESTQ      R8, R8
	JZ         mbnobase
	VADDPS     (R8), Y0, Y0
	VADDPS     32(R8), Y1, Y1
	VADDPS     64(R8), Y2, Y2
	VADDPS     96(R8), Y3, Y3
	ADDQ       $128, R8

mbnobase:
	FLAG(Y0)
	FLAG(Y1)
	FLAG(Y2)
	FLAG(Y3)
	VMOVDQU Y0, (DI)
	VMOVDQU Y1, 32(DI)
	VMOVDQU Y2, 64(DI)
	VMOVDQU Y3, 96(DI)
	ADDQ    $32, SI
	ADDQ    $128, DI
	DECQ    CX
	JNZ     mbloop

mbdone:
	VEXTRACTI128 $1, Y13, X12
	VPOR         X12, X13, X13
	VPSHUFD      $0x4e, X13, X12
	VPOR         X12, X13, X13
	VPSHUFD      $0xb1, X13, X12
	VPOR         X12, X13, X13
	VMOVD        X13, AX
	MOVL         AX, ret+40(FP)
	VZEROUPPER
	RET

// func finiteFlagAVX2(x *float32, n int) uint32
// The OR over i < n (a multiple of 32) of (bits(x[i]) & 0x7f800000) +
// 0x00800000 (firstNonFinite's flag).
TEXT ·finiteFlagAVX2(SB), NOSPLIT, $0-20
	MOVQ  x+0(FP), SI
	MOVQ  n+8(FP), CX
	VPXOR Y13, Y13, Y13
	SHRQ  $5, CX
	JZ    ffdone

ffloop:
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1
	VMOVDQU 64(SI), Y2
	VMOVDQU 96(SI), Y3
	FLAG(Y0)
	FLAG(Y1)
	FLAG(Y2)
	FLAG(Y3)
	ADDQ    $128, SI
	DECQ    CX
	JNZ     ffloop

ffdone:
	VEXTRACTI128 $1, Y13, X12
	VPOR         X12, X13, X13
	VPSHUFD      $0x4e, X13, X12
	VPOR         X12, X13, X13
	VPSHUFD      $0xb1, X13, X12
	VPOR         X12, X13, X13
	VMOVD        X13, AX
	MOVL         AX, ret+16(FP)
	VZEROUPPER
	RET

// func subF32AVX2(dst, x, base *float32, n int)
// dst[i] = x[i] − base[i] for i < n (a multiple of 8): VSUBPS is the same
// IEEE float32 subtraction as Go's (NaN operands propagate as with SUBSS,
// x first).
TEXT ·subF32AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ base+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JZ   sdone

sloop:
	VMOVUPS (SI), Y0
	VSUBPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     sloop

sdone:
	VZEROUPPER
	RET

// func compactXORAVX2(w *float32, mask *byte, x, base *float32, n int, lut *uint32, cnt *uint8) int
// For each group of 8 values (n a multiple of 8): the words
// bits(x) XOR bits(base); mask byte g = the non-zero lanes (VPCMPEQD,
// VMOVMSKPS, inverted); the non-zero words packed to the front (VPERMD with
// lut[m], 8 lane indices) and stored at w[j]; j += cnt[m]. The 8-word store
// may reach past the last stored word, never past w[8g+8]. Returns j.
// compactXOR is the Go twin.
TEXT ·compactXORAVX2(SB), NOSPLIT, $0-64
	MOVQ   w+0(FP), DI
	MOVQ   mask+8(FP), R9
	MOVQ   x+16(FP), SI
	MOVQ   base+24(FP), DX
	MOVQ   n+32(FP), CX
	MOVQ   lut+40(FP), R10
	MOVQ   cnt+48(FP), R12
	XORQ   R11, R11
	VPXOR  Y15, Y15, Y15
	SHRQ   $3, CX
	JZ     cdone

cloop:
	VMOVDQU  (SI), Y0
	VPXOR    (DX), Y0, Y0
	VPCMPEQD Y15, Y0, Y1
	VMOVMSKPS Y1, AX
	XORL     $0xff, AX
	MOVB     AL, (R9)
	MOVQ     AX, BX
	SHLQ     $5, BX
	VMOVDQU  (R10)(BX*1), Y2
	VPERMD   Y0, Y2, Y3
	VMOVDQU  Y3, (DI)(R11*4)
	MOVBQZX  (R12)(AX*1), AX
	ADDQ     AX, R11
	ADDQ     $32, SI
	ADDQ     $32, DX
	INCQ     R9
	DECQ     CX
	JNZ      cloop

cdone:
	MOVQ R11, ret+56(FP)
	VZEROUPPER
	RET

DATA laneBits<>+0(SB)/8, $0x0000000200000001
DATA laneBits<>+8(SB)/8, $0x0000000800000004
DATA laneBits<>+16(SB)/8, $0x0000002000000010
DATA laneBits<>+24(SB)/8, $0x0000008000000040
GLOBL laneBits<>(SB), RODATA|NOPTR, $32

// func unmaskF32AVX2(vals, w *float32, mask *byte, base *float32, n int, lut *uint32, cnt *uint8) (flag uint32, j int)
// The inverse of compactXORAVX2, for n values (a multiple of 8): for each
// group, the 8 words at w[j] (w has 8 words of slack past the stored ones)
// spread to the lanes of mask byte g's set bits (VPERMD with lut[m], each
// set lane's rank among them), zero in the other lanes (lane bits of m
// compared with laneBits), XOR the base, stored to vals; the finiteness
// flag as f32FromPlanes; j += cnt[m]. unmaskF32 is the Go twin.
TEXT ·unmaskF32AVX2(SB), NOSPLIT, $0-72
	MOVQ  vals+0(FP), DI
	MOVQ  w+8(FP), SI
	MOVQ  mask+16(FP), R9
	MOVQ  base+24(FP), DX
	MOVQ  n+32(FP), CX
	MOVQ  lut+40(FP), R10
	MOVQ  cnt+48(FP), R12
	XORQ  R11, R11
	VPXOR Y13, Y13, Y13
	VMOVDQU laneBits<>(SB), Y14
	SHRQ  $3, CX
	JZ    udone

uloop:
	MOVBQZX       (R9), AX
	MOVQ          AX, BX
	SHLQ          $5, BX
	VMOVDQU       (R10)(BX*1), Y2
	VMOVDQU       (SI)(R11*4), Y0
	VPERMD        Y0, Y2, Y0
	VMOVD         AX, X3
	VPBROADCASTD  X3, Y3
	VPAND         Y14, Y3, Y3
	VPCMPEQD      Y14, Y3, Y3
	VPAND         Y3, Y0, Y0
	VPXOR         (DX), Y0, Y0
	VMOVDQU       Y0, (DI)
	FLAG(Y0)
	MOVBQZX       (R12)(AX*1), AX
	ADDQ          AX, R11
	ADDQ          $32, DI
	ADDQ          $32, DX
	INCQ          R9
	DECQ          CX
	JNZ           uloop

udone:
	VEXTRACTI128 $1, Y13, X12
	VPOR         X12, X13, X13
	VPSHUFD      $0x4e, X13, X12
	VPOR         X12, X13, X13
	VPSHUFD      $0xb1, X13, X12
	VPOR         X12, X13, X13
	VMOVD        X13, AX
	MOVL         AX, flag+56(FP)
	MOVQ         R11, j+64(FP)
	VZEROUPPER
	RET

// func compactBytesSSSE3(dst, src, masks *byte, n int, lut *[8]byte, cnt *uint8) int
// For each of n groups of 8 bytes of src: the bytes whose bit is set in
// the group's mask byte, in order, stored (8 bytes, the tail garbage) at
// dst+j; j advances by their count. dst may equal src (j <= 8g).
TEXT ·compactBytesSSSE3(SB), NOSPLIT, $0-56
	MOVQ  dst+0(FP), DI
	MOVQ  src+8(FP), SI
	MOVQ  masks+16(FP), R9
	MOVQ  n+24(FP), CX
	MOVQ  lut+32(FP), R10
	MOVQ  cnt+40(FP), R12
	XORQ  R11, R11
	TESTQ CX, CX
	JZ    kbdone

kbloop:
	MOVBQZX (R9), AX
	MOVQ    (SI), X0
	MOVQ    (R10)(AX*8), X1
	PSHUFB  X1, X0
	MOVQ    X0, (DI)(R11*1)
	MOVBQZX (R12)(AX*1), AX
	ADDQ    AX, R11
	ADDQ    $8, SI
	INCQ    R9
	DECQ    CX
	JNZ     kbloop

kbdone:
	MOVQ R11, ret+48(FP)
	RET

// func expandBytesSSSE3(dst, src, masks *byte, n int, lut *[8]byte, cnt *uint8) int
// compactBytesSSSE3's inverse: for each of n groups, 8 bytes of dst get
// the next bytes of src (read 8 at a time at src+j) at the lanes whose
// mask bit is set, zero elsewhere; j advances by their count.
TEXT ·expandBytesSSSE3(SB), NOSPLIT, $0-56
	MOVQ  dst+0(FP), DI
	MOVQ  src+8(FP), SI
	MOVQ  masks+16(FP), R9
	MOVQ  n+24(FP), CX
	MOVQ  lut+32(FP), R10
	MOVQ  cnt+40(FP), R12
	XORQ  R11, R11
	TESTQ CX, CX
	JZ    ebdone

ebloop:
	MOVBQZX (R9), AX
	MOVQ    (SI)(R11*1), X0
	MOVQ    (R10)(AX*8), X1
	PSHUFB  X1, X0
	MOVQ    X0, (DI)
	MOVBQZX (R12)(AX*1), AX
	ADDQ    AX, R11
	ADDQ    $8, DI
	INCQ    R9
	DECQ    CX
	JNZ     ebloop

ebdone:
	MOVQ R11, ret+48(FP)
	RET
