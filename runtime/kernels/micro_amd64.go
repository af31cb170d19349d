package kernels

// kernel4x4 accumulates the product of an mr-row panel of A and an nr-column
// panel of B (both k-major) into acc, which must start zeroed.
//
// On amd64 the Go compiler cannot keep 16 accumulators plus operands in the
// 15 usable XMM registers and its spills are worse than accumulating through
// the (L1-resident, store-forwarded) acc array, so this form is faster here.
// The summation order per element is identical to the register form used
// elsewhere, so results stay bit-identical across platforms.
func kernel4x4(a, b []float32, acc *[mr * nr]float32) {
	// Two k steps per iteration; (acc + p0) + p1 is the same order as two
	// separate updates, so the unrolling does not change any result.
	for len(a) >= 8 && len(b) >= 8 {
		a0, a1, a2, a3 := a[0], a[1], a[2], a[3]
		b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
		e0, e1, e2, e3 := a[4], a[5], a[6], a[7]
		f0, f1, f2, f3 := b[4], b[5], b[6], b[7]
		acc[0] = acc[0] + float32(a0*b0) + float32(e0*f0)
		acc[1] = acc[1] + float32(a0*b1) + float32(e0*f1)
		acc[2] = acc[2] + float32(a0*b2) + float32(e0*f2)
		acc[3] = acc[3] + float32(a0*b3) + float32(e0*f3)
		acc[4] = acc[4] + float32(a1*b0) + float32(e1*f0)
		acc[5] = acc[5] + float32(a1*b1) + float32(e1*f1)
		acc[6] = acc[6] + float32(a1*b2) + float32(e1*f2)
		acc[7] = acc[7] + float32(a1*b3) + float32(e1*f3)
		acc[8] = acc[8] + float32(a2*b0) + float32(e2*f0)
		acc[9] = acc[9] + float32(a2*b1) + float32(e2*f1)
		acc[10] = acc[10] + float32(a2*b2) + float32(e2*f2)
		acc[11] = acc[11] + float32(a2*b3) + float32(e2*f3)
		acc[12] = acc[12] + float32(a3*b0) + float32(e3*f0)
		acc[13] = acc[13] + float32(a3*b1) + float32(e3*f1)
		acc[14] = acc[14] + float32(a3*b2) + float32(e3*f2)
		acc[15] = acc[15] + float32(a3*b3) + float32(e3*f3)
		a = a[8:]
		b = b[8:]
	}
	for len(a) >= 4 && len(b) >= 4 {
		a0, a1, a2, a3 := a[0], a[1], a[2], a[3]
		b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
		acc[0] += float32(a0 * b0)
		acc[1] += float32(a0 * b1)
		acc[2] += float32(a0 * b2)
		acc[3] += float32(a0 * b3)
		acc[4] += float32(a1 * b0)
		acc[5] += float32(a1 * b1)
		acc[6] += float32(a1 * b2)
		acc[7] += float32(a1 * b3)
		acc[8] += float32(a2 * b0)
		acc[9] += float32(a2 * b1)
		acc[10] += float32(a2 * b2)
		acc[11] += float32(a2 * b3)
		acc[12] += float32(a3 * b0)
		acc[13] += float32(a3 * b1)
		acc[14] += float32(a3 * b2)
		acc[15] += float32(a3 * b3)
		a = a[4:]
		b = b[4:]
	}
}
