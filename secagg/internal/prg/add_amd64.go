//go:build !purego

package prg

// addU32/subU32 run 16 lanes per loop iteration in SSE2 (baseline on
// amd64, so no feature check); the tail is done in Go.

//go:noescape
func addU32x16(a, b *uint32, n int)

//go:noescape
func subU32x16(a, b *uint32, n int)

func addU32(a, b []uint32) {
	b = b[:len(a)]
	n := len(a) &^ 15
	if n > 0 {
		addU32x16(&a[0], &b[0], n)
	}
	addU32Go(a[n:], b[n:])
}

func subU32(a, b []uint32) {
	b = b[:len(a)]
	n := len(a) &^ 15
	if n > 0 {
		subU32x16(&a[0], &b[0], n)
	}
	subU32Go(a[n:], b[n:])
}
