package kernels

import (
	"fmt"
)

// Portable is the pure-Go reference backend. It is always present and is
// what the wasm core runs when its host offers no accelerator.
//
// Its Gemm is cache-blocked (packed panels of A and B around a small
// register-blocked micro-kernel) and deterministic: every element of C is
// accumulated in the same order on every GOARCH, products are rounded to
// float32 before they are added (no fused multiply-add), and there are no
// goroutines, so the same inputs give bit-identical outputs natively, in
// wasip1 and in js/wasm.
//
// Natively on amd64 (with AVX) and arm64 the micro-kernel is assembly that
// vectorizes across columns of C but performs each element's float32
// operations exactly as the pure-Go kernel does, so it changes speed, not
// bits (testdata/portable.digest is checked on both paths). The pure-Go
// kernel runs in wasm, on other GOARCHes and with -tags purego; Kernel says
// which is live.
type Portable struct{}

// Name implements Backend.
func (Portable) Name() string { return "go" }

// Kernel names the micro-kernel in use: "avx" (amd64), "neon" (arm64) or
// "go" (the pure-Go fallback).
func (Portable) Kernel() string {
	if vec.run == nil {
		return "go"
	}
	return vec.name
}

// Blocking parameters. They are constants on every platform because kc
// decides the summation order (each C element is the sum over kc-sized
// chunks of k, each summed in order) and so must not vary by GOARCH.
const (
	mr = 4   // micro-tile rows
	nr = 4   // micro-tile columns
	kc = 256 // depth of one packed block: k is summed in chunks of kc
	mc = 128 // rows of A packed at once (about 128 KiB, L2-resident)
	nc = 512 // columns of B packed at once (about 512 KiB)
)

// workspace holds packed panels of A and B and, for the vector kernel, a
// scratch tile for the edges of C; pooled so steady-state calls allocate
// nothing.
type workspace struct{ a, b, t []float32 }

var workspaces pool[workspace]

// Gemm implements Backend. It panics with a message naming the argument when
// a dimension is negative, a leading dimension is smaller than the stored row
// width, or a slice is too short, as BLAS implementations do.
func (Portable) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	CheckGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		ScaleC(m, n, beta, c, ldc)
		return
	}
	ws := workspaces.get()
	defer workspaces.put(ws)
	if vec.run != nil {
		gemmVec(ws, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	kb0, nb0, mb0 := min(k, kc), min(n, nc), min(m, mc)
	ws.b = grow(ws.b, kb0*roundUp(nb0, nr))
	ws.a = grow(ws.a, kb0*roundUp(mb0, mr))

	for j0 := 0; j0 < n; j0 += nc {
		nb := min(nc, n-j0)
		for p0 := 0; p0 < k; p0 += kc {
			kb := min(kc, k-p0)
			packB(ws.b, b, ldb, transB, p0, kb, j0, nb)
			first := p0 == 0
			for i0 := 0; i0 < m; i0 += mc {
				mb := min(mc, m-i0)
				packA(ws.a, a, lda, transA, i0, mb, p0, kb)
				for jr := 0; jr < nb; jr += nr {
					bp := ws.b[jr*kb : (jr+nr)*kb]
					nv := min(nr, nb-jr)
					for ir := 0; ir < mb; ir += mr {
						ap := ws.a[ir*kb : (ir+mr)*kb]
						var acc [mr * nr]float32
						kernel4x4(ap, bp, &acc)
						mv := min(mr, mb-ir)
						store(&acc, mv, nv, c[(i0+ir)*ldc+j0+jr:], ldc, alpha, beta, first)
					}
				}
			}
		}
	}
}

// store adds the micro-tile acc (alpha-scaled) into the mv×nv corner of c.
// On the first k-chunk it also applies beta (beta == 0 never reads c).
func store(acc *[mr * nr]float32, mv, nv int, c []float32, ldc int, alpha, beta float32, first bool) {
	if mv == mr && nv == nr {
		// Full tile: one bounds check per row (this loop is a measurable
		// share of small products, more so in wasm). beta == 1 on the first
		// chunk is the same arithmetic as a later chunk: 1*c is exact.
		add := !first || beta == 1
		for r := 0; r < mr; r++ {
			row := (*[nr]float32)(c[r*ldc : r*ldc+nr])
			t := (*[nr]float32)(acc[r*nr : r*nr+nr])
			switch {
			case add:
				row[0] += float32(alpha * t[0])
				row[1] += float32(alpha * t[1])
				row[2] += float32(alpha * t[2])
				row[3] += float32(alpha * t[3])
			case beta == 0:
				row[0], row[1], row[2], row[3] = float32(alpha*t[0]), float32(alpha*t[1]), float32(alpha*t[2]), float32(alpha*t[3])
			default:
				row[0] = float32(beta*row[0]) + float32(alpha*t[0])
				row[1] = float32(beta*row[1]) + float32(alpha*t[1])
				row[2] = float32(beta*row[2]) + float32(alpha*t[2])
				row[3] = float32(beta*row[3]) + float32(alpha*t[3])
			}
		}
		return
	}
	for r := 0; r < mv; r++ {
		row := c[r*ldc : r*ldc+nv]
		t := acc[r*nr : r*nr+nv]
		switch {
		case !first:
			for j, v := range t {
				row[j] += float32(alpha * v)
			}
		case beta == 0:
			for j, v := range t {
				row[j] = float32(alpha * v)
			}
		default:
			for j, v := range t {
				row[j] = float32(beta*row[j]) + float32(alpha*v)
			}
		}
	}
}

// packA copies the mb×kb block of op(A) at (i0, p0) into ap as mr-row panels,
// each stored k-major (panel[p*mr+r]), zero-padding the last panel.
func packA(ap, a []float32, lda int, trans bool, i0, mb, p0, kb int) {
	for ir := 0; ir < mb; ir += mr {
		panel := ap[ir*kb : (ir+mr)*kb]
		rows := min(mr, mb-ir)
		if rows < mr {
			clear(panel)
		}
		if !trans && rows == mr {
			// Interleave four rows with sequential writes.
			off := (i0+ir)*lda + p0
			r0 := a[off:][:kb:kb]
			r1 := a[off+lda:][:kb:kb]
			r2 := a[off+2*lda:][:kb:kb]
			r3 := a[off+3*lda:][:kb:kb]
			for p := 0; p < kb; p++ {
				d := (*[mr]float32)(panel[p*mr : p*mr+mr])
				d[0], d[1], d[2], d[3] = r0[p], r1[p], r2[p], r3[p]
			}
			continue
		}
		if !trans {
			for r := 0; r < rows; r++ {
				src := a[(i0+ir+r)*lda+p0 : (i0+ir+r)*lda+p0+kb]
				for p, v := range src {
					panel[p*mr+r] = v
				}
			}
			continue
		}
		for p := 0; p < kb; p++ {
			src := a[(p0+p)*lda+i0+ir : (p0+p)*lda+i0+ir+rows]
			copy(panel[p*mr:p*mr+rows], src)
		}
	}
}

// packB copies the kb×nb block of op(B) at (p0, j0) into bp as nr-column
// panels, each stored k-major (panel[p*nr+c]), zero-padding the last panel.
func packB(bp, b []float32, ldb int, trans bool, p0, kb, j0, nb int) {
	for jr := 0; jr < nb; jr += nr {
		panel := bp[jr*kb : (jr+nr)*kb]
		cols := min(nr, nb-jr)
		if cols < nr {
			clear(panel)
		}
		if trans {
			for c := 0; c < cols; c++ {
				src := b[(j0+jr+c)*ldb+p0 : (j0+jr+c)*ldb+p0+kb]
				for p, v := range src {
					panel[p*nr+c] = v
				}
			}
			continue
		}
		if cols == nr {
			for p := 0; p < kb; p++ {
				src := b[(p0+p)*ldb+j0+jr:]
				dst := panel[p*nr : p*nr+nr]
				dst[0], dst[1], dst[2], dst[3] = src[0], src[1], src[2], src[3]
			}
			continue
		}
		for p := 0; p < kb; p++ {
			src := b[(p0+p)*ldb+j0+jr : (p0+p)*ldb+j0+jr+cols]
			copy(panel[p*nr:p*nr+cols], src)
		}
	}
}

// ScaleC sets C = beta*C for an m×n matrix (beta == 0 writes zeros without
// reading C, so NaNs in C do not survive). Backends share it for the
// k == 0 and alpha == 0 cases.
func ScaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// CheckGemm panics with a descriptive message if the Gemm arguments are
// inconsistent: a negative dimension, a leading dimension smaller than the
// stored row width, or a slice shorter than the matrix it must hold.
// Backends call it first so that bad calls fail the same way everywhere.
func CheckGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels: Gemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMat("a", "lda", a, ar, ac, lda)
	checkMat("b", "ldb", b, br, bc, ldb)
	checkMat("c", "ldc", c, m, n, ldc)
}

func checkMat(name, ldName string, s []float32, rows, cols, ld int) {
	if ld < max(1, cols) {
		panic(fmt.Sprintf("kernels: Gemm: %s=%d is less than the %d columns of %s as stored", ldName, ld, cols, name))
	}
	if rows == 0 || cols == 0 {
		return
	}
	// (rows-1)*ld + cols, without overflowing int for absurd shapes.
	if rows-1 > (len(s)-cols)/ld || len(s) < cols {
		panic(fmt.Sprintf("kernels: Gemm: len(%s)=%d is too short for %dx%d with %s=%d", name, len(s), rows, cols, ldName, ld))
	}
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
