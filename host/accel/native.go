package accel

import (
	"runtime"
	"sync"

	"github.com/murmur-fl/murmur/runtime/kernels"
)

// microKernel computes one mr×nr tile of C from packed panels:
// C = alpha*A·B (accumulate == 0) or C += alpha*A·B, with C's row stride ldc.
type microKernel struct {
	name   string
	mr, nr int
	run    func(k int, a, b, c *float32, ldc int, alpha float32, accumulate int)
}

// micro is set by an architecture file's init when the CPU has a kernel;
// otherwise Native falls back to the portable kernel across goroutines.
var micro microKernel

// Native is the fast host GEMM: an assembly micro-kernel (AVX2+FMA on amd64)
// inside GotoBLAS-style packing and blocking, with the rows of C split across
// goroutines. Where no kernel exists for the CPU it runs kernels.Portable on
// row blocks in parallel. It uses FMA, so results differ from the portable
// backend in the last bits (within kerneltest's tolerance); each C element is
// still computed by one goroutine in a fixed order, so repeated calls on the
// same machine give identical bits.
type Native struct {
	// Threads is the number of goroutines to use; 0 means GOMAXPROCS.
	// Callers that already run one GEMM per core (many simulated devices)
	// should set 1 to avoid oversubscribing.
	Threads int

	generic bool // tests force the fallback path with this
}

// Name implements kernels.Backend.
func (Native) Name() string { return "native" }

// Kernel names the micro-kernel in use ("avx2-fma", or "portable" for the
// fallback), for logs and benchmark rows.
func (nb Native) Kernel() string {
	if micro.run == nil || nb.generic {
		return "portable"
	}
	return micro.name
}

// Blocking: kc floats of depth keep a 16-wide B micro-panel (16 KiB) in L1;
// an mc×kc A block (~120 KiB) in L2; a kc×nc B block (1 MiB) in L3.
const (
	nkc = 256
	nmc = 120
	nnc = 1024
	// parallelFlops is the work below which goroutines cost more than they
	// save (about 50 µs of single-core work).
	parallelFlops = 4 << 20
)

var nativeBufs = sync.Pool{New: func() any { return new([]float32) }}

func getBuf(n int) *[]float32 {
	p := nativeBufs.Get().(*[]float32)
	if cap(*p) < n {
		*p = make([]float32, n)
	}
	*p = (*p)[:n]
	return p
}

// Gemm implements kernels.Backend.
func (nb Native) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	kernels.CheckGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		kernels.ScaleC(m, n, beta, c, ldc)
		return
	}
	threads := nb.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	if 2*float64(m)*float64(n)*float64(k) < parallelFlops {
		threads = 1
	}
	if micro.run == nil || nb.generic {
		portableRows(threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	blocked(micro, threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// blocked is the GotoBLAS loop nest around a micro-kernel: for each nc-wide
// block of columns and kc-deep block of k (in increasing order, so each C
// element sums its k-blocks in a fixed order), pack op(B) once, then let
// each worker pack its rows of op(A) and run the micro-kernel over tiles.
// m, n, k > 0 and alpha != 0 (callers handle the degenerate cases).
func blocked(mk microKernel, threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if beta != 0 && beta != 1 {
		kernels.ScaleC(m, n, beta, c, ldc)
		beta = 1
	}
	mr, nr := mk.mr, mk.nr
	// Split the rows of C into one contiguous, mr-aligned range per worker.
	rowsPer := roundUp((m+threads-1)/threads, mr)
	threads = (m + rowsPer - 1) / rowsPer

	bbuf := getBuf(min(k, nkc) * roundUp(min(n, nnc), nr))
	defer nativeBufs.Put(bbuf)
	var wg sync.WaitGroup
	for j0 := 0; j0 < n; j0 += nnc {
		nbk := min(nnc, n-j0)
		for p0 := 0; p0 < k; p0 += nkc {
			kb := min(nkc, k-p0)
			bp := (*bbuf)[:kb*roundUp(nbk, nr)]
			packPanels(bp, b, ldb, !transB, p0, kb, j0, nbk, nr)
			accumulate := 0
			if p0 > 0 || beta == 1 {
				accumulate = 1
			}
			work := func(r0, r1 int) {
				// The edge tile comes from the pool too: a local array would
				// escape (its address goes to the kernel through a func value).
				abuf := getBuf(kb*roundUp(min(nmc, r1-r0), mr) + mr*nr)
				defer nativeBufs.Put(abuf)
				tile := (*abuf)[len(*abuf)-mr*nr:]
				for i0 := r0; i0 < r1; i0 += nmc {
					mb := min(nmc, r1-i0)
					ap := (*abuf)[:kb*roundUp(mb, mr)]
					packPanels(ap, a, lda, transA, p0, kb, i0, mb, mr)
					for jr := 0; jr < nbk; jr += nr {
						bpan := bp[jr*kb : (jr+nr)*kb]
						nv := min(nr, nbk-jr)
						for ir := 0; ir < mb; ir += mr {
							apan := ap[ir*kb : (ir+mr)*kb]
							mv := min(mr, mb-ir)
							ci := (i0+ir)*ldc + j0 + jr
							if mv == mr && nv == nr {
								_ = c[ci+(mr-1)*ldc+nr-1] // the kernel writes this tile
								mk.run(kb, &apan[0], &bpan[0], &c[ci], ldc, alpha, accumulate)
								continue
							}
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
			if threads == 1 {
				work(0, m)
				continue
			}
			for t := 0; t < threads; t++ {
				r0, r1 := t*rowsPer, min(m, (t+1)*rowsPer)
				wg.Add(1)
				go func() {
					defer wg.Done()
					work(r0, r1)
				}()
			}
			wg.Wait()
		}
	}
}

// packPanels copies a depth-kb, width-w block of a matrix into w/pw panels
// of width pw, each stored k-major (panel[p*pw+x]) and zero-padded. The
// block's element (p, x) is s[(p0+p)*ld + x0+x] when kMajor, else
// s[(x0+x)*ld + p0+p]. (op(A) rows are A's rows unless transposed; op(B)
// columns are B's columns unless transposed.)
func packPanels(dst, s []float32, ld int, kMajor bool, p0, kb, x0, w, pw int) {
	for xr := 0; xr < w; xr += pw {
		panel := dst[xr*kb : (xr+pw)*kb]
		cols := min(pw, w-xr)
		if cols < pw {
			clear(panel)
		}
		if kMajor && cols == 16 && pw == 16 {
			for p := 0; p < kb; p++ {
				off := (p0+p)*ld + x0 + xr
				*(*[16]float32)(panel[p*16:]) = *(*[16]float32)(s[off:])
			}
			continue
		}
		if kMajor {
			for p := 0; p < kb; p++ {
				off := (p0+p)*ld + x0 + xr
				copy(panel[p*pw:p*pw+cols], s[off:off+cols])
			}
			continue
		}
		if cols == 6 && pw == 6 {
			pack6(panel, s, ld, (x0+xr)*ld+p0, kb)
			continue
		}
		if cols == 16 && pw == 16 {
			pack16(panel, s, ld, (x0+xr)*ld+p0, kb)
			continue
		}
		// Gather pw source rows at a time so writes stay sequential.
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

// pack16 interleaves sixteen source rows of length kb (row stride ld,
// starting at off) into panel[p*16+x], four rows at a time to stay in
// registers.
func pack16(panel, s []float32, ld, off, kb int) {
	panel = panel[:16*kb]
	for x := 0; x < 16; x += 4 {
		o := off + x*ld
		r0 := s[o:][:kb:kb]
		r1 := s[o+ld:][:kb:kb]
		r2 := s[o+2*ld:][:kb:kb]
		r3 := s[o+3*ld:][:kb:kb]
		for p := 0; p < kb; p++ {
			d := panel[p*16+x : p*16+x+4 : p*16+x+4]
			d[0], d[1], d[2], d[3] = r0[p], r1[p], r2[p], r3[p]
		}
	}
}

// pack6 interleaves six source rows of length kb (row stride ld, starting at
// off) into panel[p*6+x].
func pack6(panel, s []float32, ld, off, kb int) {
	r0 := s[off : off+kb]
	r1 := s[off+ld : off+ld+kb]
	r2 := s[off+2*ld : off+2*ld+kb]
	r3 := s[off+3*ld : off+3*ld+kb]
	r4 := s[off+4*ld : off+4*ld+kb]
	r5 := s[off+5*ld : off+5*ld+kb]
	panel = panel[:6*kb]
	for p := range r0 {
		d := panel[p*6 : p*6+6 : p*6+6]
		d[0], d[1], d[2], d[3], d[4], d[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
	}
}

// portableRows runs kernels.Portable on contiguous row blocks of C in
// parallel; each block is an independent Gemm on sub-matrices.
func portableRows(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	var p kernels.Portable
	// Multiples of 24 rows keep every block but the last made of whole
	// micro-tiles (4, 6 and 8 rows on the pure-Go, AVX and NEON paths).
	rowsPer := roundUp((m+threads-1)/threads, 24)
	var wg sync.WaitGroup
	for r0 := 0; r0 < m; r0 += rowsPer {
		rows := min(rowsPer, m-r0)
		var as []float32
		if transA {
			as = a[r0:] // op(A)'s rows are A's columns
		} else {
			as = a[r0*lda:]
		}
		cs := c[r0*ldc:]
		if r0+rows >= m {
			p.Gemm(transA, transB, rows, n, k, alpha, as, lda, b, ldb, beta, cs, ldc)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Gemm(transA, transB, rows, n, k, alpha, as, lda, b, ldb, beta, cs, ldc)
		}()
	}
	wg.Wait()
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }
