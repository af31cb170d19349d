//go:build amd64 && !purego

#include "textflag.h"

// AVX2 twins of roundBucket's loop and Quantize's max-abs, with exactly
// their float32 and integer operations (no fused multiply-add; the
// uint32→float32 conversion of a draw as hi·65536 + lo, exact halves and
// one rounding, as a direct conversion rounds). round_test.go compares
// them with the Go loops.

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

DATA lo16<>+0(SB)/8, $0x0000ffff0000ffff
DATA lo16<>+8(SB)/8, $0x0000ffff0000ffff
DATA lo16<>+16(SB)/8, $0x0000ffff0000ffff
DATA lo16<>+24(SB)/8, $0x0000ffff0000ffff
GLOBL lo16<>(SB), RODATA|NOPTR, $32

DATA abs32<>+0(SB)/8, $0x7fffffff7fffffff
DATA abs32<>+8(SB)/8, $0x7fffffff7fffffff
DATA abs32<>+16(SB)/8, $0x7fffffff7fffffff
DATA abs32<>+24(SB)/8, $0x7fffffff7fffffff
GLOBL abs32<>(SB), RODATA|NOPTR, $32

// 65536 and 2^-32 as float32.
DATA f65536<>+0(SB)/8, $0x4780000047800000
DATA f65536<>+8(SB)/8, $0x4780000047800000
DATA f65536<>+16(SB)/8, $0x4780000047800000
DATA f65536<>+24(SB)/8, $0x4780000047800000
GLOBL f65536<>(SB), RODATA|NOPTR, $32

DATA fm32<>+0(SB)/8, $0x2f8000002f800000
DATA fm32<>+8(SB)/8, $0x2f8000002f800000
DATA fm32<>+16(SB)/8, $0x2f8000002f800000
DATA fm32<>+24(SB)/8, $0x2f8000002f800000
GLOBL fm32<>(SB), RODATA|NOPTR, $32

// wyrand words of the four states in Y0 -> Y1 (8 dwords, value order);
// Y0 += Y15. Clobbers Y1..Y6.
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
	VPADDQ   Y6, Y3, Y3 \
	VPAND    lo32<>(SB), Y1, Y6 \
	VPADDQ   Y6, Y3, Y3 \
	VPAND    lo32<>(SB), Y4, Y4 \
	VPSLLQ   $32, Y3, Y6 \
	VPOR     Y6, Y4, Y4 \
	VPSRLQ   $32, Y5, Y5 \
	VPADDQ   Y5, Y2, Y2 \
	VPSRLQ   $32, Y1, Y1 \
	VPADDQ   Y1, Y2, Y2 \
	VPSRLQ   $32, Y3, Y3 \
	VPADDQ   Y3, Y2, Y2 \
	VPXOR    Y4, Y2, Y1 \
	VPADDQ   Y15, Y0, Y0

// func roundAVX2(cs *byte, v *float32, n int, c *roundConst)
// roundBucket's loop for n (a multiple of 8) values. roundConst: states
// [4]uint64, step [4]uint64, k, L float32, top int32.
TEXT ·roundAVX2(SB), NOSPLIT, $0-32
	MOVQ         cs+0(FP), DI
	MOVQ         v+8(FP), SI
	MOVQ         n+16(FP), CX
	MOVQ         c+24(FP), BX
	VMOVDQU      0(BX), Y0
	VMOVDQU      32(BX), Y15
	VBROADCASTSS 64(BX), Y14
	VBROADCASTSS 68(BX), Y13
	VPBROADCASTD 72(BX), Y12
	VPXOR        Y11, Y11, Y11
	SHRQ         $3, CX
	JZ           rdone

rloop:
	WYRAND
	// u = float32(r)·2^-32
	VPSRLD    $16, Y1, Y2
	VPAND     lo16<>(SB), Y1, Y3
	VCVTDQ2PS Y2, Y2
	VCVTDQ2PS Y3, Y3
	VMULPS    f65536<>(SB), Y2, Y2
	VADDPS    Y3, Y2, Y2
	VMULPS    fm32<>(SB), Y2, Y2
	// y = x·k + L, c = int32(y), up = u < y − float32(c)
	VMULPS    (SI), Y14, Y3
	VADDPS    Y13, Y3, Y3
	VCVTTPS2DQ Y3, Y4
	VCVTDQ2PS Y4, Y5
	VSUBPS    Y5, Y3, Y3
	VCMPPS    $1, Y3, Y2, Y2
	VPSUBD    Y2, Y4, Y4
	VPMAXSD   Y11, Y4, Y4
	VPMINSD   Y12, Y4, Y4
	// eight dwords (0..top) -> eight bytes
	VPACKUSDW    Y4, Y4, Y4
	VPACKUSWB    Y4, Y4, Y4
	VEXTRACTI128 $1, Y4, X5
	VPUNPCKLDQ   X5, X4, X4
	VMOVQ        X4, (DI)
	ADDQ         $32, SI
	ADDQ         $8, DI
	DECQ         CX
	JNZ          rloop

rdone:
	VZEROUPPER
	RET

DATA fhalf<>+0(SB)/8, $0x3f0000003f000000
DATA fhalf<>+8(SB)/8, $0x3f0000003f000000
DATA fhalf<>+16(SB)/8, $0x3f0000003f000000
DATA fhalf<>+24(SB)/8, $0x3f0000003f000000
GLOBL fhalf<>(SB), RODATA|NOPTR, $32

// func nearestAVX2(cs *byte, v *float32, n int, c *roundConst)
// Quantize's round-to-nearest loop for n (a multiple of 8) values:
// c = int32(float32(x·k) + L + 0.5) (two float32 adds, truncation),
// clamped to [0, top]. Uses c's k, L and top.
TEXT ·nearestAVX2(SB), NOSPLIT, $0-32
	MOVQ         cs+0(FP), DI
	MOVQ         v+8(FP), SI
	MOVQ         n+16(FP), CX
	MOVQ         c+24(FP), BX
	VBROADCASTSS 64(BX), Y14
	VBROADCASTSS 68(BX), Y13
	VPBROADCASTD 72(BX), Y12
	VMOVUPS      fhalf<>(SB), Y10
	VPXOR        Y11, Y11, Y11
	SHRQ         $3, CX
	JZ           ndone

nloop:
	VMULPS     (SI), Y14, Y3
	VADDPS     Y13, Y3, Y3
	VADDPS     Y10, Y3, Y3
	VCVTTPS2DQ Y3, Y4
	VPMAXSD    Y11, Y4, Y4
	VPMINSD    Y12, Y4, Y4
	VPACKUSDW    Y4, Y4, Y4
	VPACKUSWB    Y4, Y4, Y4
	VEXTRACTI128 $1, Y4, X5
	VPUNPCKLDQ   X5, X4, X4
	VMOVQ        X4, (DI)
	ADDQ         $32, SI
	ADDQ         $8, DI
	DECQ         CX
	JNZ          nloop

ndone:
	VZEROUPPER
	RET

// func maxAbsAVX2(v *float32, n int) uint32
// max over i < n (a multiple of 8) of bits(v[i]) & 0x7fffffff.
TEXT ·maxAbsAVX2(SB), NOSPLIT, $0-20
	MOVQ   v+0(FP), SI
	MOVQ   n+8(FP), CX
	VPXOR  Y0, Y0, Y0
	SHRQ   $3, CX
	JZ     mdone

mloop:
	VMOVDQU (SI), Y1
	VPAND   abs32<>(SB), Y1, Y1
	VPMAXUD Y1, Y0, Y0
	ADDQ    $32, SI
	DECQ    CX
	JNZ     mloop

mdone:
	VEXTRACTI128 $1, Y0, X1
	VPMAXUD      X1, X0, X0
	VPSHUFD      $0x4e, X0, X1
	VPMAXUD      X1, X0, X0
	VPSHUFD      $0xb1, X0, X1
	VPMAXUD      X1, X0, X0
	VMOVD        X0, AX
	MOVL         AX, ret+16(FP)
	VZEROUPPER
	RET
