package accel

import (
	"runtime"
	"sync"
	"sync/atomic"

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
	// save: waking a second thread takes tens of microseconds, and in quiet
	// runs 128^3 (4.2 MFLOP, ~65 µs on one core) was 15-25% slower on two
	// goroutines than on one, while 256^3 was mostly faster.
	parallelFlops = 8 << 20
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
// element sums its k-blocks in a fixed order), pack op(B) once, then run
// the micro-kernel over row blocks of C, each with its own packed op(A).
// m, n, k > 0 and alpha != 0 (callers handle the degenerate cases).
//
// With several threads, the threads take chunks of op(B) to pack (a serial
// pack would idle the others), then row blocks of C, from shared counters
// until none are left (see step). Taking work dynamically rather than a
// fixed half each matters on a shared machine: a thread that loses its core
// for a while does less of the work instead of holding everyone up. Which
// thread computes a block does not change any element's arithmetic, so
// results do not depend on the thread count or on scheduling.
func blocked(mk microKernel, threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if beta != 0 && beta != 1 {
		kernels.ScaleC(m, n, beta, c, ldc)
		beta = 1
	}
	mr, nr := mk.mr, mk.nr
	// Row blocks: whole mr-row tiles shared out evenly (sizes differ by at
	// most one tile), about nmc rows each, and at least four per thread
	// where m allows it, so the dynamic split can even out a slow thread and
	// equal threads finish together.
	tiles := (m + mr - 1) / mr
	blocks := (m + nmc - 1) / nmc
	if threads > 1 {
		per := max(4, (m+threads*nmc-1)/(threads*nmc))
		blocks = min(tiles, threads*per)
	}
	threads = max(1, min(threads, blocks))
	if threads > 1 && k*roundUp(min(n, nnc), nr) <= wholeBMax {
		blockedWholeB(mk, threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, tiles, blocks)
		return
	}

	bbuf := getBuf(min(k, nkc) * roundUp(min(n, nnc), nr))
	defer nativeBufs.Put(bbuf)
	// Goroutines that start after their step's work is gone return at once;
	// waiting for them here keeps any from outliving the call.
	var exited sync.WaitGroup
	defer exited.Wait()
	g := gemmArgs{mk: mk, transA: transA, m: m, alpha: alpha, a: a, lda: lda, c: c, ldc: ldc, tiles: tiles, blocks: blocks}
	for j0 := 0; j0 < n; j0 += nnc {
		g.j0, g.nb = j0, min(nnc, n-j0)
		for p0 := 0; p0 < k; p0 += nkc {
			g.p0, g.kb = p0, min(nkc, k-p0)
			g.bp = (*bbuf)[:g.kb*roundUp(g.nb, nr)]
			g.accumulate = 0
			if p0 > 0 || beta == 1 {
				g.accumulate = 1
			}
			if threads == 1 {
				kernels.PackPanels(g.bp, b, ldb, !transB, p0, g.kb, j0, g.nb, nr)
				w := g.newWorker()
				for i := 0; i < blocks; i++ {
					w.block(&g, i)
				}
				w.free()
				continue
			}
			st := &step{gemmArgs: g, b: b, ldb: ldb, transB: transB}
			st.chunks = (g.nb + bChunk - 1) / bChunk
			st.packed.Add(st.chunks)
			st.done.Add(blocks)
			for t := 1; t < threads; t++ {
				exited.Add(1)
				go func() {
					defer exited.Done()
					st.work()
				}()
			}
			st.work()
			st.done.Wait()
		}
	}
}

// wholeBMax bounds the floats of op(B) blockedWholeB packs at once (16 MiB).
const wholeBMax = 4 << 20

// blockedWholeB is blocked for several threads when all k-blocks of an
// nc-wide column block of op(B) fit in wholeBMax: the threads first pack
// all of them (in chunks, from a counter), then each takes whole row blocks
// and runs them through every k-block in increasing order. That is one
// barrier per column block instead of one per k-block, and each element
// still sums its k-blocks in the same order with the same arithmetic.
func blockedWholeB(mk microKernel, threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, tiles, blocks int) {
	nr := mk.nr
	var exited sync.WaitGroup
	defer exited.Wait()
	for j0 := 0; j0 < n; j0 += nnc {
		nb := min(nnc, n-j0)
		pl := roundUp(nb, nr) // floats per k step of packed op(B)
		bbuf := getBuf(k * pl)
		ws := &wholeStep{
			g:      gemmArgs{mk: mk, transA: transA, m: m, alpha: alpha, a: a, lda: lda, c: c, ldc: ldc, tiles: tiles, blocks: blocks, j0: j0, nb: nb, kb: min(k, nkc)},
			b:      b,
			ldb:    ldb,
			transB: transB,
			k:      k,
			beta1:  beta == 1,
			bp:     *bbuf,
			pl:     pl,
			cpk:    (nb + bChunk - 1) / bChunk,
		}
		ws.chunks = (k + nkc - 1) / nkc * ws.cpk
		ws.packed.Add(ws.chunks)
		ws.done.Add(blocks)
		for t := 1; t < threads; t++ {
			exited.Add(1)
			go func() {
				defer exited.Done()
				ws.work()
			}()
		}
		ws.work()
		ws.done.Wait()
		// Late goroutines read only ws's counters, never the buffer.
		nativeBufs.Put(bbuf)
	}
}

// wholeStep is one column block of blockedWholeB, shared by its threads.
type wholeStep struct {
	g      gemmArgs // the per-k-block fields are set per use, on copies
	b      []float32
	ldb    int
	transB bool
	k      int
	beta1  bool      // C already holds beta*C (beta was 0 or 1 on entry)
	bp     []float32 // packed op(B): k-block q at q*nkc*pl, kb*pl floats
	pl     int
	cpk    int // chunks per k-block
	chunks int

	nextChunk, nextBlock atomic.Int64
	packed, done         sync.WaitGroup
}

func (ws *wholeStep) work() {
	nr := ws.g.mk.nr
	for i := int(ws.nextChunk.Add(1) - 1); i < ws.chunks; i = int(ws.nextChunk.Add(1) - 1) {
		p0 := i / ws.cpk * nkc
		kb := min(nkc, ws.k-p0)
		x0 := i % ws.cpk * bChunk
		x1 := min(ws.g.nb, x0+bChunk)
		off := p0 * ws.pl
		kernels.PackPanels(ws.bp[off+x0*kb:off+roundUp(x1, nr)*kb], ws.b, ws.ldb, !ws.transB, p0, kb, ws.g.j0+x0, x1-x0, nr)
		ws.packed.Done()
	}
	if int(ws.nextBlock.Load()) >= ws.g.blocks {
		return // late: the others did all the work
	}
	ws.packed.Wait()
	var w worker
	for i := int(ws.nextBlock.Add(1) - 1); i < ws.g.blocks; i = int(ws.nextBlock.Add(1) - 1) {
		if w.buf == nil {
			w = ws.g.newWorker() // sized for kb = min(k, nkc)
		}
		g := ws.g
		for p0 := 0; p0 < ws.k; p0 += nkc {
			g.p0, g.kb = p0, min(nkc, ws.k-p0)
			g.bp = ws.bp[p0*ws.pl : p0*ws.pl+g.kb*ws.pl]
			g.accumulate = 0
			if p0 > 0 || ws.beta1 {
				g.accumulate = 1
			}
			w.block(&g, i)
		}
		ws.done.Done()
	}
	if w.buf != nil {
		w.free()
	}
}

// bChunk is how many columns of op(B) a thread packs at a time.
const bChunk = 64

// step is one (column block, k-block) step of blocked run by several
// threads. Packing op(B) and computing row blocks are both handed out
// piecewise from counters, and the step ends when all pieces are done, not
// when every thread has shown up: a thread that the OS has not scheduled yet
// (another process holds its core) finds nothing left when it does run and
// returns without touching anything.
type step struct {
	gemmArgs
	b      []float32
	ldb    int
	transB bool
	chunks int

	nextChunk, nextBlock atomic.Int64
	packed, done         sync.WaitGroup // one count per chunk / row block
}

func (st *step) work() {
	nr := st.mk.nr
	for i := int(st.nextChunk.Add(1) - 1); i < st.chunks; i = int(st.nextChunk.Add(1) - 1) {
		x0, x1 := i*bChunk, min(st.nb, (i+1)*bChunk)
		kernels.PackPanels(st.bp[x0*st.kb:roundUp(x1, nr)*st.kb], st.b, st.ldb, !st.transB, st.p0, st.kb, st.j0+x0, x1-x0, nr)
		st.packed.Done()
	}
	if int(st.nextBlock.Load()) >= st.blocks {
		return // late: the others did all the work
	}
	st.packed.Wait()
	var w worker
	for i := int(st.nextBlock.Add(1) - 1); i < st.blocks; i = int(st.nextBlock.Add(1) - 1) {
		if w.buf == nil {
			w = st.newWorker()
		}
		w.block(&st.gemmArgs, i)
		st.done.Done()
	}
	if w.buf != nil {
		w.free()
	}
}

// gemmArgs is one (column block, k-block) step of blocked, shared read-only
// by its workers.
type gemmArgs struct {
	mk             microKernel
	transA         bool
	m              int
	alpha          float32
	a              []float32
	lda            int
	c              []float32
	ldc            int
	tiles, blocks  int       // mr-row tiles of C, and the row blocks they form
	j0, nb, p0, kb int       // the column block and k-block
	bp             []float32 // op(B) for them, packed
	accumulate     int
}

// worker holds one thread's packed op(A) block and edge tile (from the pool:
// a local array would escape, its address going to the kernel through a
// func value).
type worker struct {
	buf  *[]float32
	tile []float32
}

func (g *gemmArgs) newWorker() worker {
	mr, nr := g.mk.mr, g.mk.nr
	most := (g.tiles + g.blocks - 1) / g.blocks * mr // rows in the largest block
	buf := getBuf(g.kb*most + mr*nr)
	return worker{buf: buf, tile: (*buf)[len(*buf)-mr*nr:]}
}

func (w worker) free() { nativeBufs.Put(w.buf) }

// block packs row block i of op(A) and computes its tiles of C: each
// 16-wide (nr) micro-panel of op(B) stays in L1 while the packed op(A)
// block, in L2, streams past it.
func (w worker) block(g *gemmArgs, i int) {
	mr, nr, kb := g.mk.mr, g.mk.nr, g.kb
	i0 := i * g.tiles / g.blocks * mr
	mb := min(g.m, (i+1)*g.tiles/g.blocks*mr) - i0
	ap := (*w.buf)[:kb*roundUp(mb, mr)]
	kernels.PackPanels(ap, g.a, g.lda, g.transA, g.p0, kb, i0, mb, mr)
	c, ldc, tile := g.c, g.ldc, w.tile
	for jr := 0; jr < g.nb; jr += nr {
		bpan := g.bp[jr*kb : (jr+nr)*kb]
		nv := min(nr, g.nb-jr)
		for ir := 0; ir < mb; ir += mr {
			apan := ap[ir*kb : (ir+mr)*kb]
			mv := min(mr, mb-ir)
			ci := (i0+ir)*ldc + g.j0 + jr
			if mv == mr && nv == nr {
				_ = c[ci+(mr-1)*ldc+nr-1] // the kernel writes this tile
				g.mk.run(kb, &apan[0], &bpan[0], &c[ci], ldc, g.alpha, g.accumulate)
				continue
			}
			g.mk.run(kb, &apan[0], &bpan[0], &tile[0], nr, g.alpha, 0)
			for r := 0; r < mv; r++ {
				dst := c[ci+r*ldc : ci+r*ldc+nv]
				src := tile[r*nr : r*nr+nv]
				if g.accumulate != 0 {
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
