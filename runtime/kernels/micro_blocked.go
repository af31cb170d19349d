package kernels

// vecKernel is a vector micro-kernel with exactly the pure-Go kernel's
// arithmetic (every product rounded to float32, then added to its element's
// accumulator in k order; no FMA). run computes one mr×nr tile of C from
// packed panels: C = alpha*AB (accumulate == 0) or C += alpha*AB, with row
// stride ldc, rounding alpha*acc before the add as store does.
type vecKernel struct {
	name   string
	mr, nr int
	run    func(k int, a, b, c *float32, ldc int, alpha float32, accumulate int)
}

// vec is set by an architecture file's init (amd64 with AVX, arm64; never
// with -tags purego, in wasm or on other GOARCHes); its zero value means
// Portable runs the pure-Go 4x4 kernel.
var vec vecKernel

// Blocking for the vector kernel. kc is shared with the pure-Go path (it
// decides the summation order); vmc and vnc only decide which tiles are
// computed together, not any element's arithmetic. An mc×kc A block
// (120 KiB) stays in L2 and each 16-wide B micro-panel (16 KiB) in L1.
const (
	vmc = 120 // multiple of 6 and 8
	vnc = 1024
)

// gemmVec is Portable.Gemm with the vector kernel: the same loop nest as the
// pure-Go path (column blocks, then k-blocks of kc in increasing order, then
// row blocks), with wider panels. Every element of C sees the same float32
// operations in the same order as on the pure-Go path:
//
//   - beta is applied first (round(beta*c), as store does on the first
//     k-block) unless it is 0 or 1;
//   - each k-block's sum is rounded as alpha*acc and then added to C (or,
//     for the first block with beta == 0, stored).
//
// m, n, k > 0 and alpha != 0 (Gemm handles the degenerate cases).
func gemmVec(ws *workspace, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if beta != 0 && beta != 1 {
		ScaleC(m, n, beta, c, ldc)
		beta = 1
	}
	mk := vec
	mr, nr := mk.mr, mk.nr
	ws.b = grow(ws.b, min(k, kc)*roundUp(min(n, vnc), nr))
	ws.a = grow(ws.a, min(k, kc)*roundUp(min(m, vmc), mr))
	ws.t = grow(ws.t, mr*nr)
	tile := ws.t
	for j0 := 0; j0 < n; j0 += vnc {
		nb := min(vnc, n-j0)
		for p0 := 0; p0 < k; p0 += kc {
			kb := min(kc, k-p0)
			bp := ws.b[:kb*roundUp(nb, nr)]
			PackPanels(bp, b, ldb, !transB, p0, kb, j0, nb, nr)
			accumulate := 0
			if p0 > 0 || beta == 1 {
				accumulate = 1
			}
			for i0 := 0; i0 < m; i0 += vmc {
				mb := min(vmc, m-i0)
				ap := ws.a[:kb*roundUp(mb, mr)]
				PackPanels(ap, a, lda, transA, p0, kb, i0, mb, mr)
				for jr := 0; jr < nb; jr += nr {
					bpan := bp[jr*kb : (jr+nr)*kb]
					nv := min(nr, nb-jr)
					for ir := 0; ir < mb; ir += mr {
						apan := ap[ir*kb : (ir+mr)*kb]
						mv := min(mr, mb-ir)
						ci := (i0+ir)*ldc + j0 + jr
						if mv == mr && nv == nr {
							_ = c[ci+(mr-1)*ldc+nr-1] // the kernel writes this whole tile
							mk.run(kb, &apan[0], &bpan[0], &c[ci], ldc, alpha, accumulate)
							continue
						}
						// Edge tile: compute alpha*AB into the scratch tile,
						// then store or add only the part inside C.
						mk.run(kb, &apan[0], &bpan[0], &tile[0], nr, alpha, 0)
						for r := 0; r < mv; r++ {
							dst := c[ci+r*ldc : ci+r*ldc+nv]
							src := tile[r*nr : r*nr+nv]
							if accumulate != 0 {
								for j, v := range src {
									dst[j] += v
								}
							} else {
								copy(dst, src)
							}
						}
					}
				}
			}
		}
	}
}

// PackPanels copies a depth-kb, width-w block of a matrix into panels of
// width pw, each stored k-major (panel[p*pw+x]), zero-padding the last one:
// the packing step of a blocked GEMM, with vector transposes where the CPU
// has them. Exported for host/accel's native backend, which packs exactly
// as Portable does and differs only in its micro-kernel.
// The block's element (p, x) is s[(p0+p)*ld + x0+x] when kMajor, else
// s[(x0+x)*ld + p0+p]. (op(A)'s rows are A's rows unless transposed; op(B)'s
// columns are B's columns unless transposed.)
func PackPanels(dst, s []float32, ld int, kMajor bool, p0, kb, x0, w, pw int) {
	full := w / pw * pw
	if kMajor && pw == 16 && full > 0 {
		// Row by row: each source row is read once, sequentially, and
		// each write fills one 64-byte line of a panel.
		for p := 0; p < kb; p++ {
			row := s[(p0+p)*ld+x0:][:full:full]
			for xr := 0; xr < full; xr += 16 {
				*(*[16]float32)(dst[(xr*kb + p*16):]) = *(*[16]float32)(row[xr:])
			}
		}
		if full == w {
			return
		}
		dst, x0, w = dst[full*kb:], x0+full, w-full
	}
	for xr := 0; xr < w; xr += pw {
		panel := dst[xr*kb : (xr+pw)*kb]
		cols := min(pw, w-xr)
		if cols < pw {
			clear(panel)
		}
		switch {
		case kMajor && cols == 6 && pw == 6:
			for p := 0; p < kb; p++ {
				off := (p0+p)*ld + x0 + xr
				*(*[6]float32)(panel[p*6:]) = *(*[6]float32)(s[off:])
			}
		case kMajor && cols == 8 && pw == 8:
			for p := 0; p < kb; p++ {
				off := (p0+p)*ld + x0 + xr
				*(*[8]float32)(panel[p*8:]) = *(*[8]float32)(s[off:])
			}
		case kMajor:
			for p := 0; p < kb; p++ {
				off := (p0+p)*ld + x0 + xr
				copy(panel[p*pw:p*pw+cols], s[off:off+cols])
			}
		case cols == 6 && pw == 6:
			pack6(panel, s, ld, (x0+xr)*ld+p0, kb)
		case cols == 16 && pw == 16 && packT16 != nil:
			pack16(panel, s, ld, (x0+xr)*ld+p0, kb)
		case cols%4 == 0 && cols == pw:
			packRows4(panel, s, ld, (x0+xr)*ld+p0, kb, pw)
		default:
			// Gather the source rows so writes stay sequential.
			var rows [16][]float32
			for x := 0; x < cols; x++ {
				off := (x0+xr+x)*ld + p0
				rows[x] = s[off : off+kb]
			}
			for p := 0; p < kb; p++ {
				d := panel[p*pw : p*pw+cols]
				for x := range d {
					d[x] = rows[x][p]
				}
			}
		}
	}
}

// packRows4 interleaves pw source rows of length kb (row stride ld, starting
// at off) into panel[p*pw+x], four rows at a time so they stay in registers.
func packRows4(panel, s []float32, ld, off, kb, pw int) {
	panel = panel[:pw*kb]
	for x := 0; x < pw; x += 4 {
		o := off + x*ld
		r0 := s[o:][:kb:kb]
		r1 := s[o+ld:][:kb:kb]
		r2 := s[o+2*ld:][:kb:kb]
		r3 := s[o+3*ld:][:kb:kb]
		for p := 0; p < kb; p++ {
			d := panel[p*pw+x : p*pw+x+4 : p*pw+x+4]
			d[0], d[1], d[2], d[3] = r0[p], r1[p], r2[p], r3[p]
		}
	}
}

// packA6, when set (amd64 with AVX), packs eight k steps of six rows at a
// time with vector transposes: dst[p*6+r] = src[r*ld+p] for p < 8*groups.
var packA6 func(dst, src *float32, ld, groups int)

// packT16, when set (amd64 with AVX), packs eight k steps of sixteen rows
// at a time with two 8x8 vector transposes: dst[p*16+x] = src[x*ld+p] for
// p < 8*groups.
var packT16 func(dst, src *float32, ld, groups int)

// pack16 interleaves sixteen source rows of length kb (row stride ld,
// starting at off) into panel[p*16+x] with packT16, the last kb%8 steps in
// Go. Callers check packT16 != nil.
func pack16(panel, s []float32, ld, off, kb int) {
	_ = s[off+15*ld+kb-1] // all sixteen rows are in bounds
	panel = panel[:16*kb]
	g := kb / 8
	if g > 0 {
		packT16(&panel[0], &s[off], ld, g)
	}
	for x := 0; x < 16; x++ {
		row := s[off+x*ld:][:kb:kb]
		for p := 8 * g; p < kb; p++ {
			panel[p*16+x] = row[p]
		}
	}
}

// pack6 interleaves six source rows of length kb (row stride ld, starting at
// off) into panel[p*6+x].
func pack6(panel, s []float32, ld, off, kb int) {
	r0 := s[off:][:kb:kb]
	r1 := s[off+ld:][:kb:kb]
	r2 := s[off+2*ld:][:kb:kb]
	r3 := s[off+3*ld:][:kb:kb]
	r4 := s[off+4*ld:][:kb:kb]
	r5 := s[off+5*ld:][:kb:kb]
	panel = panel[:6*kb]
	p := 0
	if g := kb / 8; packA6 != nil && g > 0 {
		// In bounds: each row has kb >= 8g floats, the panel 6kb.
		packA6(&panel[0], &r0[0], ld, g)
		p = 8 * g
	}
	for ; p < kb; p++ {
		d := (*[6]float32)(panel[p*6:])
		d[0], d[1], d[2], d[3], d[4], d[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
	}
}
