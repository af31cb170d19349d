package codec

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Download version 4 (float32 deltas only): version 3's stored words, with
// their zero high bytes left out. Per stored word i, c_i = 0 where its
// bytes 2 and 3 are zero, 1 where only byte 3 is, else 2, packed 2 bits
// each (4 per byte, low bits first) into ceil(S/4) count bytes. Bytes 0
// and 1 of every stored word go to planes 0 and 1 (S bytes each), byte 2
// only of the words with c_i >= 1 to plane 2 (n_2 bytes), byte 3 only of
// those with c_i = 2 to plane 3 (n_3 <= n_2 <= S; both in params). On the
// bench's XOR deltas the two high planes were 84-99% zeros, which Huffman
// cannot code below one bit each: the counts cost about one bit per word
// for both. (Cutting plane 1 too measured no smaller on the CNN, 0.3%
// smaller on the GRU, and its compaction, over mostly mixed groups, cost
// more than a third of the encode.) Layout: plane 0, plane 1, plane 2,
// plane 3, the counts, the mask (as version 3's).

// v4Len is the raw payload length of a version 4 blob.
func v4Len(d, s int, n [2]int) int {
	return 2*s + n[0] + n[1] + (s+3)/4 + (d+7)/8
}

// sigScratch is the room sigSplit needs for s words: the 4 full planes,
// the counts, and one mask byte per 8 words for each of planes 2 and 3.
func sigScratch(s int) int { return 4*s + (s+3)/4 + 2*(s/8) }

// sigSplit writes the words w (float32 bit patterns) into out (sigScratch
// bytes) as version 4's planes and counts. It returns n_2, n_3 and the
// bytes written. The words are first split into 4 full planes (the AVX2
// kernel where it applies); then, 8 words at a time, the counts and which
// bytes of planes 2 and 3 to keep come from which high bytes are not zero
// (SWAR), and compactBytes packs those planes in place.
func sigSplit(out []byte, w []float32) ([2]int, int) {
	s := len(w)
	ng := s / 8
	splitWords(out[:4*s], w)
	cnt := out[4*s : 4*s+(s+3)/4]
	m2 := out[4*s+len(cnt) : 4*s+len(cnt)+ng]
	m3 := out[4*s+len(cnt)+ng : 4*s+len(cnt)+2*ng]
	p2, p3 := out[2*s:3*s], out[3*s:4*s]
	for g := range ng {
		i := 8 * g
		x2 := binary.LittleEndian.Uint64(p2[i:])
		x3 := binary.LittleEndian.Uint64(p3[i:])
		o2 := x2 | x3
		if o2 == 0 { // no word of the group reaches byte 2 (most groups)
			cnt[2*g], cnt[2*g+1], m2[g], m3[g] = 0, 0, 0, 0
			continue
		}
		k2, k3 := nonzeroBytes(o2), nonzeroBytes(x3)
		// c = 1 where byte 2 is the top, 2 where byte 3 is (k3 ⊆ k2).
		binary.LittleEndian.PutUint16(cnt[2*g:], spreadLUT[k2&^k3]|spreadLUT[k3]<<1)
		m2[g], m3[g] = k2, k3
	}
	j2 := compactBytes(p2, m2)
	j3 := compactBytes(p3, m3)
	for i := 8 * ng; i < s; i++ {
		v := math.Float32bits(w[i])
		c := uint32(0)
		if v>>16 != 0 {
			p2[j2] = byte(v >> 16) // j2 <= i: in place
			j2++
			c = 1
		}
		if v>>24 != 0 {
			p3[j3] = byte(v >> 24)
			j3++
			c = 2
		}
		if i&3 == 0 {
			cnt[i>>2] = 0
		}
		cnt[i>>2] |= byte(c << (2 * (i & 3)))
	}
	o := 2*s + j2
	o += copy(out[o:], p3[:j3])
	o += copy(out[o:], cnt) // moves left: copy handles the overlap
	return [2]int{j2, j3}, o
}

// compactLUT8[m] lists the bytes (lanes) of the set bits of m, in order,
// then 0x80 (PSHUFB's zero): compactBytesSSSE3's table; expandLUT8[m]
// gives each set bit's lane its rank among them, 0x80 elsewhere:
// expandBytesSSSE3's.
var compactLUT8, expandLUT8 = func() (*[256][8]byte, *[256][8]byte) {
	var c, e [256][8]byte
	for m := range c {
		k := 0
		for t := range 8 {
			c[m][t], e[m][t] = 0x80, 0x80
		}
		for t := range 8 {
			if m>>t&1 != 0 {
				c[m][k] = byte(t)
				e[m][t] = byte(k)
				k++
			}
		}
	}
	return &c, &e
}()

// compactBytes packs, in place, the bytes of p's first 8·len(masks) that
// masks keep (bit t of masks[g]: byte 8g+t), in order, and returns how
// many there are. Bytes of p past that count are left unspecified.
func compactBytes(p, masks []byte) int {
	ng := len(masks)
	p = p[:8*ng]
	if useAVX2 && ng > 0 {
		return compactBytesSSSE3(&p[0], &p[0], &masks[0], ng, &compactLUT8[0], &compactCount[0])
	}
	return compactBytesGo(p, masks)
}

// compactBytesGo is compactBytes without the kernel. Branch-free inside a
// group (mixed masks are unpredictable): every byte is written at j,
// which only a kept one advances; j <= the byte's own place, so the
// bytes not yet read are safe.
func compactBytesGo(p, masks []byte) int {
	j := 0
	for g, m := range masks {
		if m == 0 {
			continue
		}
		x := binary.LittleEndian.Uint64(p[8*g:])
		for t := range 8 {
			p[j] = byte(x >> (8 * t))
			j += int(m >> t & 1)
		}
	}
	return j
}

// expandBytes writes into dst (8·len(masks) bytes) the bytes of src, in
// order, at the places masks keep, and zeros elsewhere; it returns how
// many it read. src must hold them all and, for the kernel (which reads
// 8 bytes at a time), 8 more readable bytes; with fewer the Go loop runs.
func expandBytes(dst, src, masks []byte, n int) int {
	ng := len(masks)
	dst = dst[:8*ng]
	if useAVX2 && ng > 0 && len(src) >= n+8 {
		return expandBytesSSSE3(&dst[0], &src[0], &masks[0], ng, &expandLUT8[0], &compactCount[0])
	}
	return expandBytesGo(dst, src, masks)
}

// expandBytesGo is expandBytes without the kernel. Branch-free inside a
// group: a byte not kept reads (and drops) the byte at the cursor, so
// src must have one byte past the last kept one (in raw a plane is
// followed by the counts).
func expandBytesGo(dst, src, masks []byte) int {
	j := 0
	for g, m := range masks {
		var x uint64
		if m != 0 {
			for u := range 8 {
				bit := uint64(m>>u) & 1
				x |= uint64(src[j]) & -bit << (8 * u)
				j += int(bit)
			}
		}
		binary.LittleEndian.PutUint64(dst[8*g:], x)
	}
	return j
}

// spreadLUT[b] holds the bits of b at the even places of 16 (bit t at
// bit 2t): one 2-bit count's low bit per bit of b.
var spreadLUT = func() *[256]uint16 {
	var lut [256]uint16
	for b := range lut {
		for t := range 8 {
			lut[b] |= uint16(b>>t&1) << (2 * t)
		}
	}
	return &lut
}()

// unpackCounts spreads 16 bits of counts (2 each, the first lowest) to
// 8 bytes, one count a byte.
func unpackCounts(c uint16) uint64 {
	y := uint64(c)
	y = (y | y<<24) & 0x000000ff000000ff
	y = (y | y<<12) & 0x000f000f000f000f
	return (y | y<<6) & 0x0303030303030303
}

// compactGroup writes the bytes of x (8, little-endian) that m keeps into
// p at j, in order, and returns j advanced past them. p must have 8 bytes
// at j where m is 0xff, and one at each kept byte's place otherwise.
func compactGroup(p []byte, j int, x uint64, m byte) int {
	// Branch-free (the masks of mixed groups are unpredictable): every
	// byte is written at j, which only a kept one advances; j <= the
	// byte's own place, so in place the bytes not yet read are safe.
	for t := range 8 {
		p[j] = byte(x >> (8 * t))
		j += int(m >> t & 1)
	}
	return j
}

// countLUT[b] holds, for a count byte b, how many of its 4 counts are
// >= 1 (bits 0-15), == 2 (bits 16-31) and == 3 (bits 32-47).
var countLUT = func() *[256]uint64 {
	var lut [256]uint64
	for b := range lut {
		var v uint64
		for t := range 4 {
			switch b >> (2 * t) & 3 {
			case 1:
				v++
			case 2:
				v += 1 + 1<<16
			case 3:
				v += 1 << 32
			}
		}
		lut[b] = v
	}
	return &lut
}()

// checkCounts verifies version 4's count bytes: every count 0..2, n_2
// and n_3 words with those high bytes, no bits set past the S-th count.
func checkCounts(cnt []byte, s int, n [2]int) error {
	if r := s & 3; r != 0 && len(cnt) > 0 && cnt[len(cnt)-1]>>(2*r) != 0 {
		return fmt.Errorf("%w: counts have bits past word %d", ErrCorrupt, s)
	}
	var got [3]int
	for len(cnt) > 0 {
		k := min(len(cnt), 1<<12) // 4 per byte: a field stays below 2^16
		var acc uint64
		for _, b := range cnt[:k] {
			acc += countLUT[b]
		}
		got[0] += int(acc & 0xffff)
		got[1] += int(acc >> 16 & 0xffff)
		got[2] += int(acc >> 32 & 0xffff)
		cnt = cnt[k:]
	}
	if got[2] != 0 {
		return fmt.Errorf("%w: %d counts of 3 (want 0..2)", ErrCorrupt, got[2])
	}
	if got[0] != n[0] || got[1] != n[1] {
		return fmt.Errorf("%w: counts give %d and %d high bytes, params say %d and %d", ErrCorrupt, got[0], got[1], n[0], n[1])
	}
	return nil
}

// sigJoin rebuilds version 4's planes 2 and 3 from raw (validated by
// checkCounts) into full, version 3's 4 planes of s bytes (f32FromPlanes
// then reads the words); planes 0 and 1 are copied. full has room for
// sigJoinScratch bytes (the masks follow the planes). The inverse of
// sigSplit.
func sigJoin(full, raw []byte, s int, n [2]int) {
	ng := s / 8
	full = full[:sigJoinScratch(s)]
	copy(full[:2*s], raw[:2*s])
	j2, j3 := 2*s, 2*s+n[0] // cursors in raw
	oc := j3 + n[1]
	cnt := raw[oc : oc+(s+3)/4]
	f2, f3 := full[2*s:3*s], full[3*s:4*s]
	m2, m3 := full[4*s:4*s+ng], full[4*s+ng:4*s+2*ng]
	for g := range ng {
		y := unpackCounts(binary.LittleEndian.Uint16(cnt[2*g:]))
		m2[g], m3[g] = nonzeroBytes(y), nonzeroBytes(y&0x0202020202020202)
	}
	// Each plane is followed in raw by at least the counts (s >= 1).
	j2 += expandBytes(f2, raw[j2:], m2, n[0])
	j3 += expandBytes(f3, raw[j3:], m3, n[1])
	for i := 8 * ng; i < s; i++ {
		c := int(cnt[i>>2]>>(2*(i&3))) & 3
		var b2, b3 byte
		if c >= 1 {
			b2 = raw[j2]
			j2++
		}
		if c == 2 {
			b3 = raw[j3]
			j3++
		}
		f2[i], f3[i] = b2, b3
	}
}

// sigJoinScratch is the room sigJoin needs for s words.
func sigJoinScratch(s int) int { return 4*s + 2*(s/8) }
