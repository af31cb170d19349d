// Package ent entropy-codes quantization codes with zstd's Huffman stage
// (klauspost/compress/huff0) alone. QSGD codes are nearly i.i.d. small
// symbols: zstd's match finder spends most of its time on short, useless
// matches there (about 5x slower and 15% larger than Huffman alone, measured
// on 4-bit codes).
//
// Format: the input is cut into 64 KiB chunks (the last may be shorter);
// each chunk is one mode byte and its data: 0 = raw (the chunk's bytes),
// 1 = one byte repeated, 2 = u32 length L then L bytes of a huff0 4X block
// (table and four streams). The decoder knows the total length.
//
// The mixed form (AppendMixed, DecodeMixed; download codec version 2) adds
// mode 3 = u32 chunk count k >= 1, u32 length L, then L bytes of one zstd
// frame (internal/zst) of the next k chunks (the last may be short), used
// for runs of chunks with long repeats (a delta's zero runs), which Huffman
// cannot code below 1 bit per byte.
package ent

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/klauspost/compress/huff0"
	"github.com/murmur-fl/murmur/sync/codec/internal/frame"
	"github.com/murmur-fl/murmur/sync/codec/internal/zst"
)

// ErrCorrupt is wrapped by every decode error.
// It wraps frame.ErrCorrupt, so callers test one sentinel (codec.ErrCorrupt).
var ErrCorrupt = fmt.Errorf("%w: entropy-coded section", frame.ErrCorrupt)

const chunk = 64 << 10

const (
	modeRaw  = 0
	modeRLE  = 1
	modeHuff = 2
	modeZstd = 3
)

// Append appends the coded form of src to dst.
func Append(dst, src []byte) []byte { return appendChunks(dst, src, 0, nil) }

// AppendMixed is Append that may also code a run of chunks with zstd
// (mode 3), where that is smaller. zstd is tried only on chunks that
// repetitive accepts: on the others zstd's match finder costs 3-10x
// Huffman's time for a result that is no smaller.
func AppendMixed(dst, src []byte) []byte {
	return appendUnits(dst, src, planUnits(src, repetitive), func(dst []byte, u unit, s *huff0.Scratch) []byte {
		if !u.run {
			return appendChunks(dst, src[u.o:u.e], rawMixed, s)
		}
		// A run of repetitive chunks: one zstd frame over all of them
		// (matches reach across chunk boundaries) if that is smaller than
		// coding them one by one.
		run := src[u.o:u.e]
		m := len(dst)
		dst = appendChunks(dst, run, 0, s)
		alone := len(dst) - m
		dst = appendZstdRun(dst, run)
		if zl := len(dst) - (m + alone); zl < alone {
			copy(dst[m:], dst[m+alone:])
			return dst[:m+zl]
		}
		return dst[:m+alone]
	})
}

// AppendRuns writes the mixed form (DecodeMixed reads it) with a cheaper
// choice than AppendMixed: a run of chunks that runsPay accepts goes to
// zstd without a Huffman trial (kept only if smaller than the raw run;
// otherwise the run is coded chunk by chunk as Append does); elsewhere raw
// or Huffman as AppendMixed; a chunk of one repeated byte is RLE. It is
// meant for payloads whose scattered zeros were removed already (the
// download's masked deltas). The choice depends on the bytes alone.
func AppendRuns(dst, src []byte) []byte {
	isRun := func(c []byte) bool { return runsPay(c) && !constant(c) }
	return appendUnits(dst, src, planUnits(src, isRun), func(dst []byte, u unit, s *huff0.Scratch) []byte {
		if !u.run {
			return appendChunks(dst, src[u.o:u.e], rawMixed, s)
		}
		run := src[u.o:u.e]
		m := len(dst)
		dst = appendZstdRun(dst, run)
		if len(dst)-m >= len(run) { // zstd did not pay: chunk by chunk
			dst = appendChunks(dst[:m], run, rawMixed, s)
		}
		return dst
	})
}

// appendZstdRun appends run as one mode 3 piece.
func appendZstdRun(dst, run []byte) []byte {
	dst = append(dst, modeZstd)
	dst = binary.LittleEndian.AppendUint32(dst, uint32((len(run)+chunk-1)/chunk))
	dst = append(dst, 0, 0, 0, 0)
	z := len(dst)
	dst = zst.Append(dst, run)
	binary.LittleEndian.PutUint32(dst[z-4:], uint32(len(dst)-z))
	return dst
}

// A unit is a piece of the input coded on its own: a run of chunks that
// may become one zstd frame, or one chunk.
type unit struct {
	o, e int
	run  bool
}

// planUnits cuts src into units: maximal runs of chunks that isRun
// accepts, and single chunks.
func planUnits(src []byte, isRun func([]byte) bool) []unit {
	var us []unit
	for o := 0; o < len(src); {
		e := o
		for e < len(src) {
			c := src[e:min(e+chunk, len(src))]
			if !isRun(c) {
				break
			}
			e += len(c)
		}
		u := unit{o: o, e: e, run: true}
		if e == o {
			u = unit{o: o, e: min(o+chunk, len(src))}
		}
		us = append(us, u)
		o = u.e
	}
	return us
}

// appendUnits appends the coded units of src to dst.
func appendUnits(dst, src []byte, us []unit, enc func([]byte, unit, *huff0.Scratch) []byte) []byte {
	// Room for the worst case (raw chunks) up front: no regrowth.
	if need := len(dst) + len(src) + 5*(len(src)/chunk+1); cap(dst) < need {
		dst = append(make([]byte, 0, need), dst...)
	}
	s := getScratch()
	defer scratchPool.Put(s)
	for _, u := range us {
		dst = enc(dst, u, s)
	}
	return dst
}

// scratchPool holds huff0 Scratches: each holds a chunk-sized output
// buffer and FSE tables (about 70 KB that every call allocated, and the
// collector then reclaimed, with a stop of every goroutine per cycle).
var scratchPool sync.Pool

// getScratch returns a Scratch from the pool that codes every chunk with a
// fresh table (ReusePolicyNone: the output does not depend on what the
// Scratch coded before).
func getScratch() *huff0.Scratch {
	s, _ := scratchPool.Get().(*huff0.Scratch)
	if s == nil {
		s = new(huff0.Scratch)
	}
	s.Reuse = huff0.ReusePolicyNone // chunks stand alone
	return s
}

// appendChunks codes src chunk by chunk, raw, RLE or Huffman; with raw
// != 0, chunks that collisionAbove(c, raw) accepts are stored without a
// Huffman trial.
func appendChunks(dst, src []byte, raw uint64, s *huff0.Scratch) []byte {
	// Room for the worst case (raw chunks) up front: no regrowth.
	if need := len(dst) + len(src) + 5*(len(src)/chunk+1); cap(dst) < need {
		dst = append(make([]byte, 0, need), dst...)
	}
	if s == nil {
		s = getScratch()
		defer scratchPool.Put(s)
	}
	for o := 0; o < len(src); o += chunk {
		c := src[o:min(o+chunk, len(src))]
		if raw != 0 && collisionAbove(c, raw) {
			// Near-uniform bytes (weights' low mantissa planes): Huffman
			// cannot gain a percent and costs ~1 ms per 460 KB plane.
			dst = append(dst, modeRaw)
			dst = append(dst, c...)
			continue
		}
		out, _, err := huff0.Compress4X(c, s)
		switch {
		case err == nil && len(out)+5 < len(c)+1:
			dst = append(dst, modeHuff)
			dst = binary.LittleEndian.AppendUint32(dst, uint32(len(out)))
			dst = append(dst, out...)
		case errors.Is(err, huff0.ErrUseRLE):
			dst = append(dst, modeRLE, c[0])
		default:
			dst = append(dst, modeRaw)
			dst = append(dst, c...)
		}
	}
	return dst
}

// repetitive reports whether at least 1 in 16 of c's aligned 8-byte words
// (sampled) equals the word before it: runs of zeros (untrained or unchanged
// parameters) and other long repeats pass; i.i.d. bytes almost never do
// (about (sum of squared byte frequencies)^8), which keeps zstd off weight
// byte planes, where Huffman alone is both smaller and several times
// faster. (2-byte words let the GRU's exponent planes through: zstd was
// tried on them for nothing, a third of the encode time.)
func repetitive(c []byte) bool {
	same, _, n := repeats(c)
	return n >= 16 && same >= n/16
}

// constant reports whether c is one byte repeated.
func constant(c []byte) bool {
	if len(c) == 0 {
		return false
	}
	w := uint64(c[0]) * 0x0101010101010101
	i := 0
	for ; i+8 <= len(c); i += 8 {
		if binary.LittleEndian.Uint64(c[i:]) != w {
			return false
		}
	}
	for ; i < len(c); i++ {
		if c[i] != c[0] {
			return false
		}
	}
	return true
}

// repeats samples every fourth aligned 8-byte word of c against the word
// after it (a quarter of the reads; the rate is what matters, not the
// exact count): of the n sampled words, same were equal to the next and
// nonzero of those were not zero.
func repeats(c []byte) (same, nonzero, n int) {
	n = len(c) / 32
	c = c[:32*n]
	for i := 0; i < len(c); i += 32 {
		w := binary.LittleEndian.Uint64(c[i:])
		if w == binary.LittleEndian.Uint64(c[i+8:]) {
			same++
			if w != 0 {
				nonzero++
			}
		}
	}
	return same, nonzero, n
}

// runsPay is AppendRuns' test: at least half of the sampled words repeat
// (long zero runs: zstd is fast there and far below Huffman's one bit per
// byte), or at least 1 in 16 repeats a word that is not zero (repeated
// patterns, such as a layer's sign and exponent bytes). Chunks with many
// short zero runs and few other repeats (measured: 82-86% zero bytes, a
// tenth to a third of the words repeating) pass neither: there zstd was
// up to 25% larger than Huffman and twice as slow.
func runsPay(c []byte) bool {
	same, nonzero, n := repeats(c)
	return n >= 16 && (2*same >= n || 16*nonzero >= n)
}

// incompressible reports whether c's bytes are so close to uniform that
// Huffman coding cannot save more than about half a percent: from every
// eighth byte, the collision entropy (−log2 Σp², a lower bound of the
// Shannon entropy that bounds Huffman's gain) is at least 7.95 bits. The
// estimate is unbiased (Σc(c−1) / N(N−1)) and computed in integers, so
// every GOARCH takes the same decision. On uniform bytes it sits about 4
// standard deviations inside the threshold.
func incompressible(c []byte) bool { return collisionAbove(c, rawMixed) }

// rawMixed: AppendMixed stores a chunk raw where the sampled collision
// entropy is at least 7.95 bits (p2 <= 1.0353/256).
const rawMixed = 10353

// collisionAbove reports whether c's sampled collision probability is at
// most thr/10000 / 256 (thr 10353: 2^-7.95).
func collisionAbove(c []byte, thr uint64) bool {
	if len(c) < 16<<10 {
		return false
	}
	var h0, h1 [256]uint32 // two tables: no store-to-load chain on repeats
	i := 0
	for ; i+16 <= len(c); i += 16 {
		h0[c[i]]++
		h1[c[i+8]]++
	}
	n := uint64(i / 8)
	var coll uint64
	for k := range h0 {
		v := uint64(h0[k] + h1[k])
		coll += v * (v - 1) // 0 for v = 0 (wraps to 0·(2^64−1) = 0)
	}
	// p2 = coll / (n(n−1)) <= 2^−7.95 ≈ 1.0353/256
	return 256*10000*coll <= thr*n*(n-1)
}

// LowerBound returns a number of bytes that Append(nil, src) never goes
// below, from byte histograms alone (about 10x cheaper than coding): per
// chunk, the mode byte plus the smaller of the raw chunk and the chunk's
// order-0 Shannon entropy (no prefix code, Huffman included, codes n
// symbols in fewer than n·H bits; huff0's table and stream headers only add
// to it), or 2 bytes for a chunk of one repeated byte. A caller that has a
// zstd frame no longer than this knows, without running Huffman, that
// Huffman would not be smaller. The float64 entropy is rounded down with a
// margin far above its error, so the bound holds on every GOARCH.
func LowerBound(src []byte) int {
	total := 0
	for o := 0; o < len(src); o += chunk {
		total += chunkLowerBound(src[o:min(o+chunk, len(src))])
	}
	return total
}

func chunkLowerBound(c []byte) int {
	var h [4][256]uint32 // four tables: no store-to-load chain on repeats
	i := 0
	for ; i+4 <= len(c); i += 4 {
		h[0][c[i]]++
		h[1][c[i+1]]++
		h[2][c[i+2]]++
		h[3][c[i+3]]++
	}
	for ; i < len(c); i++ {
		h[0][c[i]]++
	}
	n := float64(len(c))
	var sum float64 // Σ c·log2(c)
	distinct := 0
	for k := range 256 {
		v := h[0][k] + h[1][k] + h[2][k] + h[3][k]
		if v == 0 {
			continue
		}
		distinct++
		f := float64(v)
		sum += f * math.Log2(f)
	}
	if distinct <= 1 {
		return min(2, 1+len(c)) // RLE (a one-byte chunk may go raw)
	}
	bits := n*math.Log2(n) - sum      // n·H, exact up to ~1e-12 relative
	bytes := int(bits*(1-1e-9)/8) - 1 // rounded down, with margin
	return 1 + max(0, min(len(c), bytes))
}

// Decode decodes exactly n bytes from src, which must hold nothing more.
func Decode(src []byte, n int) ([]byte, error) { return DecodeInto(nil, src, n, false) }

// DecodeMixed decodes AppendMixed's form (zstd chunks allowed).
func DecodeMixed(src []byte, n int) ([]byte, error) { return DecodeInto(nil, src, n, true) }

// DecodeInto is Decode (mixed: DecodeMixed) into buf's storage when
// cap(buf) >= n, so a caller can reuse one buffer across decodes.
func DecodeInto(buf, src []byte, n int, mixed bool) ([]byte, error) {
	out := buf[:0]
	if cap(out) < n {
		out = make([]byte, 0, n)
	}
	var s huff0.Scratch
	for len(out) < n {
		want := min(chunk, n-len(out))
		if len(src) < 1 {
			return nil, fmt.Errorf("%w: truncated at byte %d of %d", ErrCorrupt, len(out), n)
		}
		mode := src[0]
		src = src[1:]
		switch mode {
		case modeRaw:
			if len(src) < want {
				return nil, fmt.Errorf("%w: raw chunk truncated", ErrCorrupt)
			}
			out = append(out, src[:want]...)
			src = src[want:]
		case modeRLE:
			if len(src) < 1 {
				return nil, fmt.Errorf("%w: RLE chunk truncated", ErrCorrupt)
			}
			b := src[0]
			src = src[1:]
			for range want {
				out = append(out, b)
			}
		case modeHuff:
			if len(src) < 4 {
				return nil, fmt.Errorf("%w: Huffman chunk truncated", ErrCorrupt)
			}
			l := binary.LittleEndian.Uint32(src)
			src = src[4:]
			if uint64(l) > uint64(len(src)) {
				return nil, fmt.Errorf("%w: Huffman chunk of %d bytes overruns the section", ErrCorrupt, l)
			}
			s2, rem, err := huff0.ReadTable(src[:l], &s)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
			}
			// Decode straight into out: the decoder fills dst up to its
			// capacity, which is exactly this chunk.
			o := len(out)
			d, err := s2.Decoder().Decompress4X(out[o:o:o+want], rem)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
			}
			if len(d) != want {
				return nil, fmt.Errorf("%w: Huffman chunk decoded to %d bytes, want %d", ErrCorrupt, len(d), want)
			}
			out = out[:o+want]
			if want > 0 && &d[0] != &out[o] { // not in place after all
				copy(out[o:], d)
			}
			src = src[l:]
		case modeZstd:
			if !mixed {
				return nil, fmt.Errorf("%w: zstd chunk (mode 3) in a Huffman-only section", ErrCorrupt)
			}
			if len(src) < 8 {
				return nil, fmt.Errorf("%w: zstd run truncated", ErrCorrupt)
			}
			k, l := binary.LittleEndian.Uint32(src), binary.LittleEndian.Uint32(src[4:])
			src = src[8:]
			left := n - len(out)
			if k == 0 || uint64(k-1)*chunk >= uint64(left) {
				return nil, fmt.Errorf("%w: zstd run of %d chunks at byte %d of %d", ErrCorrupt, k, len(out), n)
			}
			want = int(min(uint64(k)*chunk, uint64(left)))
			if uint64(l) > uint64(len(src)) {
				return nil, fmt.Errorf("%w: zstd run of %d bytes overruns the section", ErrCorrupt, l)
			}
			o, err := zst.AppendDecode(out, src[:l], want)
			if err != nil {
				return nil, fmt.Errorf("%w: chunk at byte %d: %v", ErrCorrupt, len(out), err)
			}
			out = o
			src = src[l:]
		default:
			return nil, fmt.Errorf("%w: unknown chunk mode %d", ErrCorrupt, mode)
		}
	}
	if len(src) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(src))
	}
	return out, nil
}
