//go:build !purego

#include "textflag.h"

// 8x8 single-precision micro-kernel for arm64 (NEON). A panel: 8 floats per
// k step (one per row), B panel: 8 floats per k step (one per column). The
// tile is written row-major to c (8 floats per row, no stride); the Go side
// applies alpha and merges it into C. Accumulators: V8..V23 (row r in
// V(8+2r), V(9+2r)); B in V0, V1; broadcast A values in V2..V4; products in
// V5..V7 and V24.

// func kern8x8exact(k int, a, b, c *float32)
//
// Rounds each product before adding it (FMUL then FADD, no fused
// multiply-add), which is exactly the pure-Go kernel's arithmetic. Go's
// assembler has no vector FMUL/FADD mnemonics, so they are encoded by hand:
// FMUL Vd.4S, Vn.4S, Vm.4S = 0x6E20DC00|m<<16|n<<5|d and
// FADD Vd.4S, Vn.4S, Vm.4S = 0x4E20D400|m<<16|n<<5|d.
TEXT ·kern8x8exact(SB), NOSPLIT, $0-32
	MOVD k+0(FP), R3
	MOVD a+8(FP), R0
	MOVD b+16(FP), R1
	MOVD c+24(FP), R2
	VEOR V8.B16, V8.B16, V8.B16
	VEOR V9.B16, V9.B16, V9.B16
	VEOR V10.B16, V10.B16, V10.B16
	VEOR V11.B16, V11.B16, V11.B16
	VEOR V12.B16, V12.B16, V12.B16
	VEOR V13.B16, V13.B16, V13.B16
	VEOR V14.B16, V14.B16, V14.B16
	VEOR V15.B16, V15.B16, V15.B16
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	VEOR V18.B16, V18.B16, V18.B16
	VEOR V19.B16, V19.B16, V19.B16
	VEOR V20.B16, V20.B16, V20.B16
	VEOR V21.B16, V21.B16, V21.B16
	VEOR V22.B16, V22.B16, V22.B16
	VEOR V23.B16, V23.B16, V23.B16
	CBZ R3, xstore
xloop:
	VLD1.P 32(R1), [V0.S4, V1.S4]
	VLD1R.P 4(R0), [V2.S4]
	WORD $0x6e22dc05 // FMUL V5.4S, V0.4S, V2.4S
	WORD $0x6e22dc26 // FMUL V6.4S, V1.4S, V2.4S
	WORD $0x4e25d508 // FADD V8.4S, V8.4S, V5.4S
	WORD $0x4e26d529 // FADD V9.4S, V9.4S, V6.4S
	VLD1R.P 4(R0), [V3.S4]
	WORD $0x6e23dc07 // FMUL V7.4S, V0.4S, V3.4S
	WORD $0x6e23dc38 // FMUL V24.4S, V1.4S, V3.4S
	WORD $0x4e27d54a // FADD V10.4S, V10.4S, V7.4S
	WORD $0x4e38d56b // FADD V11.4S, V11.4S, V24.4S
	VLD1R.P 4(R0), [V4.S4]
	WORD $0x6e24dc05 // FMUL V5.4S, V0.4S, V4.4S
	WORD $0x6e24dc26 // FMUL V6.4S, V1.4S, V4.4S
	WORD $0x4e25d58c // FADD V12.4S, V12.4S, V5.4S
	WORD $0x4e26d5ad // FADD V13.4S, V13.4S, V6.4S
	VLD1R.P 4(R0), [V2.S4]
	WORD $0x6e22dc07 // FMUL V7.4S, V0.4S, V2.4S
	WORD $0x6e22dc38 // FMUL V24.4S, V1.4S, V2.4S
	WORD $0x4e27d5ce // FADD V14.4S, V14.4S, V7.4S
	WORD $0x4e38d5ef // FADD V15.4S, V15.4S, V24.4S
	VLD1R.P 4(R0), [V3.S4]
	WORD $0x6e23dc05 // FMUL V5.4S, V0.4S, V3.4S
	WORD $0x6e23dc26 // FMUL V6.4S, V1.4S, V3.4S
	WORD $0x4e25d610 // FADD V16.4S, V16.4S, V5.4S
	WORD $0x4e26d631 // FADD V17.4S, V17.4S, V6.4S
	VLD1R.P 4(R0), [V4.S4]
	WORD $0x6e24dc07 // FMUL V7.4S, V0.4S, V4.4S
	WORD $0x6e24dc38 // FMUL V24.4S, V1.4S, V4.4S
	WORD $0x4e27d652 // FADD V18.4S, V18.4S, V7.4S
	WORD $0x4e38d673 // FADD V19.4S, V19.4S, V24.4S
	VLD1R.P 4(R0), [V2.S4]
	WORD $0x6e22dc05 // FMUL V5.4S, V0.4S, V2.4S
	WORD $0x6e22dc26 // FMUL V6.4S, V1.4S, V2.4S
	WORD $0x4e25d694 // FADD V20.4S, V20.4S, V5.4S
	WORD $0x4e26d6b5 // FADD V21.4S, V21.4S, V6.4S
	VLD1R.P 4(R0), [V3.S4]
	WORD $0x6e23dc07 // FMUL V7.4S, V0.4S, V3.4S
	WORD $0x6e23dc38 // FMUL V24.4S, V1.4S, V3.4S
	WORD $0x4e27d6d6 // FADD V22.4S, V22.4S, V7.4S
	WORD $0x4e38d6f7 // FADD V23.4S, V23.4S, V24.4S
	SUBS $1, R3, R3
	BNE xloop
xstore:
	VST1.P [V8.S4, V9.S4, V10.S4, V11.S4], 64(R2)
	VST1.P [V12.S4, V13.S4, V14.S4, V15.S4], 64(R2)
	VST1.P [V16.S4, V17.S4, V18.S4, V19.S4], 64(R2)
	VST1.P [V20.S4, V21.S4, V22.S4, V23.S4], 64(R2)
	RET
