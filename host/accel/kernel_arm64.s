//go:build !purego

#include "textflag.h"

// 8x8 single-precision micro-kernel for arm64 (NEON). A panel: 8 floats per
// k step (one per row), B panel: 8 floats per k step (one per column). The
// tile is written row-major to c (8 floats per row, no stride); the Go side
// applies alpha and merges it into C. Accumulators: V8..V23 (row r in
// V(8+2r), V(9+2r)); B in V0, V1; broadcast A values in V2..V7.

// func kern8x8(k int, a, b, c *float32)
TEXT ·kern8x8(SB), NOSPLIT, $0-32
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
	CBZ R3, store
loop:
	VLD1.P 32(R1), [V0.S4, V1.S4]
	VLD1R.P 4(R0), [V2.S4]
	VFMLA V0.S4, V2.S4, V8.S4
	VFMLA V1.S4, V2.S4, V9.S4
	VLD1R.P 4(R0), [V3.S4]
	VFMLA V0.S4, V3.S4, V10.S4
	VFMLA V1.S4, V3.S4, V11.S4
	VLD1R.P 4(R0), [V4.S4]
	VFMLA V0.S4, V4.S4, V12.S4
	VFMLA V1.S4, V4.S4, V13.S4
	VLD1R.P 4(R0), [V5.S4]
	VFMLA V0.S4, V5.S4, V14.S4
	VFMLA V1.S4, V5.S4, V15.S4
	VLD1R.P 4(R0), [V6.S4]
	VFMLA V0.S4, V6.S4, V16.S4
	VFMLA V1.S4, V6.S4, V17.S4
	VLD1R.P 4(R0), [V7.S4]
	VFMLA V0.S4, V7.S4, V18.S4
	VFMLA V1.S4, V7.S4, V19.S4
	VLD1R.P 4(R0), [V2.S4]
	VFMLA V0.S4, V2.S4, V20.S4
	VFMLA V1.S4, V2.S4, V21.S4
	VLD1R.P 4(R0), [V3.S4]
	VFMLA V0.S4, V3.S4, V22.S4
	VFMLA V1.S4, V3.S4, V23.S4
	SUBS $1, R3, R3
	BNE loop
store:
	VST1.P [V8.S4, V9.S4, V10.S4, V11.S4], 64(R2)
	VST1.P [V12.S4, V13.S4, V14.S4, V15.S4], 64(R2)
	VST1.P [V16.S4, V17.S4, V18.S4, V19.S4], 64(R2)
	VST1.P [V20.S4, V21.S4, V22.S4, V23.S4], 64(R2)
	RET
