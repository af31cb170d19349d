//go:build amd64 && !purego

#include "textflag.h"

DATA absMask<>+0(SB)/8, $0x7fffffff7fffffff
DATA absMask<>+8(SB)/8, $0x7fffffff7fffffff
DATA absMask<>+16(SB)/8, $0x7fffffff7fffffff
DATA absMask<>+24(SB)/8, $0x7fffffff7fffffff
GLOBL absMask<>(SB), RODATA|NOPTR, $32

// func passMaskAVX2(m *byte, a *float32, n int, t float32)
// Bit j of m[b] = |a[8b+j]| >= t, for n a multiple of 8 (a holds no NaN).
TEXT ·passMaskAVX2(SB), NOSPLIT, $0-28
	MOVQ         m+0(FP), DI
	MOVQ         a+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS t+24(FP), Y15
	VMOVDQU      absMask<>(SB), Y14
	SHRQ         $3, CX
	JZ           pmdone

pmloop:
	VANDPS    (SI), Y14, Y0
	VCMPPS    $13, Y15, Y0, Y0
	VMOVMSKPS Y0, AX
	MOVB      AX, (DI)
	ADDQ      $32, SI
	INCQ      DI
	DECQ      CX
	JNZ       pmloop

pmdone:
	VZEROUPPER
	RET
