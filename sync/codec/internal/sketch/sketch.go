// Package sketch is a count sketch (Charikar et al.; used for federated
// updates by FetchSGD, Rothchild et al. 2020): rows × cols counters, each
// coordinate i added with sign s_r(i) into counter h_r(i) of every row r.
// Sketching is linear, so over Z_2^B (wrap-around integers, as summed by
// secure aggregation) sketch(a) + sketch(b) = sketch(a + b) exactly. The
// server estimates a coordinate as the median over rows of s_r(i)·C[r][h_r(i)]
// and recovers the k largest.
package sketch

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"slices"
)

// Sketch holds the hash functions of one (seed, rows, cols, dim).
type Sketch struct {
	Rows, Cols, Dim int
	keys            []uint64 // version 1: splitmix64 keys
	// Version 3: row r hashes coordinate i to the top 32 bits of
	// mul[r]·i + add[r] (mod 2^64).
	mul, add []uint64
}

// New derives the row hash keys from seed (hash version 1, used by codec
// versions 1 and 2).
func New(seed []byte, rows, cols, dim int) *Sketch {
	s := &Sketch{Rows: rows, Cols: cols, Dim: dim, keys: make([]uint64, rows)}
	for r := range s.keys {
		h := sha256.Sum256(binary.LittleEndian.AppendUint32(append([]byte("murmur/codec/sketch/v1"), seed...), uint32(r)))
		s.keys[r] = binary.LittleEndian.Uint64(h[:])
	}
	return s
}

// NewV3 derives the version 3 hash functions from seed: row r's
// multiplier and addend are the first and second 8 bytes (little-endian)
// of SHA-256("murmur/codec/sketch/v3" ‖ seed ‖ u32 r). Coordinate i < 2^32
// goes to g = fmix32((mul·i + add) >> 32) (mod 2^64 arithmetic; fmix32 is
// MurmurHash3's 32-bit finalizer), counter (g·cols) >> 32, negative when
// g is odd. Multiply-add-shift with 64-bit mul and add is strongly
// universal (pairwise independent) on 32-bit keys (Dietzfelbinger 1996),
// which is what the count sketch's error bound needs, and a fixed
// bijection (fmix32) keeps that; fmix32 breaks the lattice of the plain
// multiply-add-shift (i and i+k collide alike for every i), which gave
// heavier tails on periodic and block-structured inputs. Coordinate i+1's
// product is coordinate i's plus mul, so a row costs one add and two
// 32-bit multiplies per coordinate (8 lanes per AVX2 instruction), where
// version 1's splitmix64 needs three 64-bit multiplies (emulated from
// 32-bit halves in AVX2).
func NewV3(seed []byte, rows, cols, dim int) *Sketch {
	s := &Sketch{Rows: rows, Cols: cols, Dim: dim, mul: make([]uint64, rows), add: make([]uint64, rows)}
	for r := range s.mul {
		h := sha256.Sum256(binary.LittleEndian.AppendUint32(append([]byte("murmur/codec/sketch/v3"), seed...), uint32(r)))
		s.mul[r] = binary.LittleEndian.Uint64(h[:8])
		s.add[r] = binary.LittleEndian.Uint64(h[8:16])
	}
	return s
}

// V3 reports whether s uses the version 3 hash.
func (s *Sketch) V3() bool { return s.mul != nil }

// hash returns the counter of coordinate i in row r and whether its sign is
// negative. Version 1: splitmix64's finalizer over key + i·golden,
// multiply-shift range reduction for the bucket and the lowest bit for the
// sign. Version 3: see NewV3.
func (s *Sketch) hash(r, i int) (int, bool) {
	if s.mul != nil {
		g := fmix32(uint32((s.mul[r]*uint64(i) + s.add[r]) >> 32))
		return int(uint64(g) * uint64(s.Cols) >> 32), g&1 == 1
	}
	z := mix(s.keys[r], i)
	return int((z >> 32) * uint64(s.Cols) >> 32), z&1 == 1
}

// mix is splitmix64's finalizer of key + i·golden: the counter is
// (z>>32)·cols>>32 and the sign is negative when z&1 is set.
func mix(key uint64, i int) uint64 {
	z := key + uint64(i)*0x9E3779B97F4A7C15
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

// fmix32 is MurmurHash3's finalizer, a bijection of uint32.
func fmix32(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85EBCA6B
	h ^= h >> 13
	h *= 0xC2B2AE35
	return h ^ h>>16
}

// Len is the number of counters.
func (s *Sketch) Len() int { return s.Rows * s.Cols }

// AddInt adds the sketch of q (Dim values in Z_2^B, B given by mask = 2^B−1)
// into table (Len counters), mod 2^B.
func (s *Sketch) AddInt(table, q []uint64, mask uint64) {
	if s.mul != nil && !useAVX2 {
		s.addInt3Go(table, q, mask)
		return
	}
	if useAVX2 {
		s.addIntBlocks(table, q, mask)
		return
	}
	cols := uint64(s.Cols)
	// Two rows per pass: their updates are independent, so the cache
	// misses of one overlap the other's (the rows are larger than L1).
	r := 0
	for ; r+2 <= s.Rows; r += 2 {
		row0, key0 := table[r*s.Cols:(r+1)*s.Cols], s.keys[r]
		row1, key1 := table[(r+1)*s.Cols:(r+2)*s.Cols], s.keys[r+1]
		for i, v := range q[:s.Dim] {
			z0, z1 := mix(key0, i), mix(key1, i)
			m0, m1 := -(z0 & 1), -(z1 & 1) // all ones when the sign is negative
			h0, h1 := (z0>>32)*cols>>32, (z1>>32)*cols>>32
			// (v^m)−m is −v or v without a branch: the sign is a coin flip.
			row0[h0] = (row0[h0] + (v ^ m0) - m0) & mask
			row1[h1] = (row1[h1] + (v ^ m1) - m1) & mask
		}
	}
	if r < s.Rows {
		row, key := table[r*s.Cols:(r+1)*s.Cols], s.keys[r]
		for i, v := range q[:s.Dim] {
			z := mix(key, i)
			m := -(z & 1)
			h := (z >> 32) * cols >> 32
			row[h] = (row[h] + (v ^ m) - m) & mask
		}
	}
}

// addInt3Go is AddInt for version 3 without the AVX2 kernels (purego,
// wasm, arm64): version 1's scalar loop with version 3's hash, two rows
// per pass, no buffers (under js/wasm the blocked form with its buffers
// measured 1.3-1.8x slower than this).
func (s *Sketch) addInt3Go(table, q []uint64, mask uint64) {
	cols := uint64(s.Cols)
	r := 0
	for ; r+2 <= s.Rows; r += 2 {
		row0, a0, z0 := table[r*s.Cols:(r+1)*s.Cols], s.mul[r], s.add[r]
		row1, a1, z1 := table[(r+1)*s.Cols:(r+2)*s.Cols], s.mul[r+1], s.add[r+1]
		for _, v := range q[:s.Dim] {
			g0, g1 := fmix32(uint32(z0>>32)), fmix32(uint32(z1>>32))
			m0, m1 := -uint64(g0&1), -uint64(g1&1)
			h0, h1 := uint64(g0)*cols>>32, uint64(g1)*cols>>32
			row0[h0] = (row0[h0] + (v ^ m0) - m0) & mask
			row1[h1] = (row1[h1] + (v ^ m1) - m1) & mask
			z0 += a0
			z1 += a1
		}
	}
	if r < s.Rows {
		row, a, z := table[r*s.Cols:(r+1)*s.Cols], s.mul[r], s.add[r]
		for _, v := range q[:s.Dim] {
			g := fmix32(uint32(z >> 32))
			m := -uint64(g & 1)
			h := uint64(g) * cols >> 32
			row[h] = (row[h] + (v ^ m) - m) & mask
			z += a
		}
	}
}

// hashBlock is how many coordinates' hashes hashRow computes at a time
// (8 KiB per row, in L1 with the scatter's counters).
const hashBlock = 2048

// addIntBlocks is AddInt with the hashes computed by hashRow (the AVX2
// kernel, or version 3's hash), hashBlock coordinates at a time, two rows
// per pass.
func (s *Sketch) addIntBlocks(table, q []uint64, mask uint64) {
	if mask <= math.MaxUint32 {
		s.addIntBlocks32(table, q, mask)
		return
	}
	hb := make([]uint32, 2*hashBlock)
	h0, h1 := hb[:hashBlock], hb[hashBlock:]
	q = q[:s.Dim]
	r := 0
	for ; r+2 <= s.Rows; r += 2 {
		row0, key0 := table[r*s.Cols:(r+1)*s.Cols], r
		row1, key1 := table[(r+1)*s.Cols:(r+2)*s.Cols], r+1
		for o := 0; o < s.Dim; o += hashBlock {
			qs := q[o:min(o+hashBlock, s.Dim)]
			a, b := h0[:len(qs)], h1[:len(qs)]
			s.hashRow(a, key0, o)
			s.hashRow(b, key1, o)
			for j, v := range qs {
				e0, e1 := a[j], b[j]
				m0, m1 := -uint64(e0&1), -uint64(e1&1)
				row0[e0>>1] = (row0[e0>>1] + (v ^ m0) - m0) & mask
				row1[e1>>1] = (row1[e1>>1] + (v ^ m1) - m1) & mask
			}
		}
	}
	if r < s.Rows {
		row, key := table[r*s.Cols:(r+1)*s.Cols], r
		for o := 0; o < s.Dim; o += hashBlock {
			qs := q[o:min(o+hashBlock, s.Dim)]
			a := h0[:len(qs)]
			s.hashRow(a, key, o)
			for j, v := range qs {
				e := a[j]
				m := -uint64(e & 1)
				row[e>>1] = (row[e>>1] + (v ^ m) - m) & mask
			}
		}
	}
}

// addIntBlocks32 is addIntBlocks for B <= 32: each row's counters are
// summed mod 2^32 in a uint32 row (half the bytes: the random
// read-modify-writes hit L1 more often; 1.17x on the GRU's 5×9210), then
// added into the table mod 2^B. 2^B divides 2^32, so the result is the
// same.
func (s *Sketch) addIntBlocks32(table, q []uint64, mask uint64) {
	if s.mul != nil {
		s.addInt3(table, q, mask)
		return
	}
	hb := make([]uint32, 2*hashBlock)
	acc := make([]uint32, 2*s.Cols)
	q = q[:s.Dim]
	r := 0
	for ; r+2 <= s.Rows; r += 2 { // two rows per pass, as addIntBlocks
		row0, key0 := table[r*s.Cols:(r+1)*s.Cols], r
		row1, key1 := table[(r+1)*s.Cols:(r+2)*s.Cols], r+1
		acc0, acc1 := acc[:s.Cols], acc[s.Cols:]
		clear(acc)
		for o := 0; o < s.Dim; o += hashBlock {
			qs := q[o:min(o+hashBlock, s.Dim)]
			a, b := hb[:len(qs)], hb[hashBlock:hashBlock+len(qs)]
			s.hashRow(a, key0, o)
			s.hashRow(b, key1, o)
			for j, v := range qs {
				e0, e1 := a[j], b[j]
				m0, m1 := -uint32(e0&1), -uint32(e1&1)
				acc0[e0>>1] += (uint32(v) ^ m0) - m0
				acc1[e1>>1] += (uint32(v) ^ m1) - m1
			}
		}
		for h, c := range acc0 {
			row0[h] = (row0[h] + uint64(c)) & mask
		}
		for h, c := range acc1 {
			row1[h] = (row1[h] + uint64(c)) & mask
		}
	}
	acc = acc[:s.Cols]
	for ; r < s.Rows; r++ {
		row, key := table[r*s.Cols:(r+1)*s.Cols], r
		clear(acc)
		for o := 0; o < s.Dim; o += hashBlock {
			qs := q[o:min(o+hashBlock, s.Dim)]
			a := hb[:len(qs)]
			s.hashRow(a, key, o)
			for j, v := range qs {
				e := a[j]
				m := -uint32(e & 1)
				acc[e>>1] += (uint32(v) ^ m) - m
			}
		}
		for h, c := range acc {
			row[h] = (row[h] + uint64(c)) & mask
		}
	}
}

// addInt3 is addIntBlocks32 for version 3: for each block of coordinates
// (in cache from the quantizer's output once), row by row, signRow3 gives
// each coordinate's counter and signed value (the AVX2 kernel does eight
// coordinates per step), then a plain scatter adds them into the rows'
// uint32 counters.
func (s *Sketch) addInt3(table, q []uint64, mask uint64) {
	buf := make([]uint64, hashBlock)
	acc := make([]uint32, s.Len())
	q = q[:s.Dim]
	for o := 0; o < s.Dim; o += hashBlock {
		qs := q[o:min(o+hashBlock, s.Dim)]
		pk := buf[:len(qs)]
		for r := range s.Rows {
			s.signRow3(pk, qs, r, o)
			scatter32(acc[r*s.Cols:(r+1)*s.Cols], pk)
		}
	}
	for h, c := range acc {
		table[h] = (table[h] + uint64(c)) & mask
	}
}

// scatter32 adds uint32(e>>32) into acc[uint32(e)] for each e in pk; every
// index is < len(acc).
func scatter32(acc []uint32, pk []uint64) {
	if useAVX2 && len(pk) >= 4 {
		n := len(pk) &^ 3
		scatter32AVX2(&acc[0], &pk[0], n)
		pk = pk[n:]
	}
	for _, e := range pk {
		acc[uint32(e)] += uint32(e >> 32)
	}
}

// MaxLoad is the most coordinates any one counter receives; it bounds how
// large a counter can grow.
func (s *Sketch) MaxLoad() int {
	load := make([]int32, s.Cols)
	m := 0
	for r := 0; r < s.Rows; r++ {
		clear(load)
		for i := 0; i < s.Dim; i++ {
			h, _ := s.hash(r, i)
			load[h]++
		}
		m = max(m, int(slices.Max(load)))
	}
	return m
}

// estBlk is how many coordinates Estimate does at a time (row by row into a
// block of per-row estimates, then the medians: the hash loop stays simple
// and 3 or 5 rows take a branch-free median).
const estBlk = 512

// estScratch is Estimate's working memory.
type estScratch struct {
	rows []float32 // Rows × estBlk per-row estimates
	hb   []uint32  // estBlk hashes, or nil
	// Version 3 with AVX2: each row's hash state at the next coordinate,
	// carried from block to block by estRow3AVX2 (hash and gather in one
	// kernel); nil otherwise.
	c3 []hash3Const
}

// newEstScratch returns the scratch for estimates starting at coordinate
// start.
func (s *Sketch) newEstScratch(start int) *estScratch {
	e := &estScratch{rows: make([]float32, s.Rows*estBlk)}
	if useAVX2 || s.mul != nil {
		e.hb = make([]uint32, estBlk)
	}
	if useAVX2 && s.mul != nil {
		e.c3 = make([]hash3Const, s.Rows)
		for r := range e.c3 {
			e.c3[r] = s.const3(r, start)
		}
	}
	return e
}

// skip moves the carried version 3 states forward by n coordinates.
func (s *Sketch) skip(e *estScratch, n int) {
	for r := range e.c3 {
		d := s.mul[r] * uint64(n)
		c := &e.c3[r]
		for l := range c.za {
			c.za[l] += d
			c.zb[l] += d
		}
	}
}

// Estimate fills est (Dim values) with each coordinate's median estimate
// from table (real-valued counters).
func (s *Sketch) Estimate(est []float32, table []float32) {
	e := s.newEstScratch(0)
	for o := 0; o < s.Dim; o += estBlk {
		s.estRange(est[o:o+min(estBlk, s.Dim-o)], table, o, e)
	}
}

// estRange sets out[j] to the median estimate of coordinate o+j (len(out)
// <= estBlk). With e.c3, the row states must be at coordinate o; they
// advance by len(out) when it is a multiple of 8 (otherwise they are
// spent: only the last block may be so).
func (s *Sketch) estRange(out []float32, table []float32, o int, e *estScratch) {
	const blk = estBlk
	n := len(out)
	rows, hb, c3 := e.rows, e.hb, e.c3
	cols := uint64(s.Cols)
	for r := 0; r < s.Rows; r++ {
		row, tr := rows[r*blk:r*blk+n], table[r*s.Cols:(r+1)*s.Cols]
		if c3 != nil {
			k := n &^ 7
			if k > 0 {
				estRow3AVX2(&row[0], &tr[0], k, &c3[r])
			}
			if k < n { // the last block only
				h := hb[:n-k]
				s.hashRow(h, r, o+k)
				for j, e := range h {
					row[k+j] = math.Float32frombits(math.Float32bits(tr[e>>1]) ^ e<<31)
				}
			}
			continue
		}
		if hb != nil { // the hashes from hashRow (AVX2 or version 3)
			h := hb[:n]
			s.hashRow(h, r, o)
			k := 0
			if useAVX2 {
				k = n &^ 7
			}
			if k > 0 {
				gatherRowScalar(&row[0], &h[0], &tr[0], k)
			}
			for j, e := range h[k:] {
				row[k+j] = math.Float32frombits(math.Float32bits(tr[e>>1]) ^ e<<31)
			}
			continue
		}
		key := s.keys[r]
		for j := range row {
			z := mix(key, o+j)
			// Flip the sign bit (exactly −c) without a branch.
			row[j] = math.Float32frombits(math.Float32bits(tr[(z>>32)*cols>>32]) ^ uint32(z&1)<<31)
		}
	}
	k := 0 // done by the AVX2 kernels
	if useAVX2 && (s.Rows == 3 || s.Rows == 5) {
		k = n &^ 7
	}
	if k > 0 && s.Rows == 3 {
		median3AVX2(&out[0], &rows[0], &rows[blk], &rows[2*blk], k)
	} else if k > 0 {
		median5AVX2(&out[0], &rows[0], &rows[blk], &rows[2*blk], &rows[3*blk], &rows[4*blk], k)
	}
	switch s.Rows {
	case 3:
		a, b, c := rows[:n], rows[blk:blk+n], rows[2*blk:2*blk+n]
		for j := k; j < len(out); j++ {
			out[j] = med3(a[j], b[j], c[j])
		}
	case 5:
		a, b, c, d, e := rows[:n], rows[blk:blk+n], rows[2*blk:2*blk+n], rows[3*blk:3*blk+n], rows[4*blk:4*blk+n]
		for j := k; j < len(out); j++ {
			out[j] = med3(e[j], fmax(fmin(a[j], b[j]), fmin(c[j], d[j])), fmin(fmax(a[j], b[j]), fmax(c[j], d[j])))
		}
	default:
		v := make([]float32, s.Rows)
		for j := range out {
			for r := range v {
				v[r] = rows[r*blk+j]
			}
			out[j] = median(v) + 0 // +0 for a zero, as med3
		}
	}
}

// med3 is the median of three (of five: med3(e, max(min(a,b), min(c,d)),
// min(max(a,b), max(c,d)))). fmin and fmax are per target (minmax_*.go);
// they may order −0 and +0 differently, so the result's zero is made +0
// (x + 0): every target decodes the same bits.
func med3(x, y, z float32) float32 { return fmax(fmin(x, y), fmin(fmax(x, y), z)) + 0 }

func median(v []float32) float32 {
	// Insertion sort: rows are few.
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// AddFloat adds the sketch of x (Dim values, real) into table; the server
// uses it to subtract what it has already recovered (FetchSGD's error
// accumulation happens in sketch space).
func (s *Sketch) AddFloat(table []float32, x []float32, scale float32) {
	for r := 0; r < s.Rows; r++ {
		row := table[r*s.Cols : (r+1)*s.Cols]
		for i, v := range x[:s.Dim] {
			if v == 0 {
				continue
			}
			h, neg := s.hash(r, i)
			if neg {
				v = -v
			}
			row[h] += scale * v
		}
	}
}

var useFused = true
