//go:build !purego

package accel

import "unsafe"

//go:noescape
func kern8x8(k int, a, b, c *float32)

// Every arm64 CPU has NEON (Advanced SIMD), so no feature check is needed.
func init() {
	micro = microKernel{name: "neon-fma", mr: 8, nr: 8, run: func(k int, a, b, c *float32, ldc int, alpha float32, accumulate int) {
		var t [64]float32
		kern8x8(k, a, b, &t[0])
		merge8x8(&t, c, ldc, alpha, accumulate)
	}}
}

// merge8x8 writes C = alpha*t (accumulate == 0) or C += alpha*t into the
// 8x8 tile at c with row stride ldc.
func merge8x8(t *[64]float32, c *float32, ldc int, alpha float32, accumulate int) {
	cs := unsafe.Slice(c, 7*ldc+8)
	for r := 0; r < 8; r++ {
		row := cs[r*ldc : r*ldc+8]
		src := t[r*8 : r*8+8]
		if accumulate != 0 {
			for j, v := range src {
				row[j] += float32(alpha * v)
			}
		} else {
			for j, v := range src {
				row[j] = float32(alpha * v)
			}
		}
	}
}
