package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"sync"

	"github.com/murmur-fl/murmur/sync/codec/internal/ent"
	"github.com/murmur-fl/murmur/sync/codec/internal/frame"
	"github.com/murmur-fl/murmur/sync/codec/internal/quant"
	"github.com/murmur-fl/murmur/sync/codec/internal/zst"
)

// Download codecs ("float32", "bf16", "int8"), codec versions 1 to 4:
//
//	flags:  0: raw; 1: zstd section; 2: Huffman section (internal/ent);
//	        in versions 2 to 4 flag 2's section may also hold zstd
//	        chunks (ent's mixed form). Encoders write version 2 to 4 only
//	        for a compressed payload (Config.Version 0, 2, 3 or 4), so an
//	        uncompressed blob is the same bytes in all versions.
//	params: u64 version, u64 base version (0: a snapshot), u32 bucket
//	        (int8 only, else 0); version 3 adds u32 S (stored
//	        coordinates), version 4 then u32 n2, u32 n3
//	version 3 (deltas, Config.Version 0 or 3): the words (int8: the
//	        scales, then the codes) of the S changed coordinates, float32
//	        and bf16 in byte planes, then a bit mask of which coordinates
//	        changed (maskDelta, maskInt8; FORMAT.md)
//	version 4 (float32 deltas, Config.Version 0 or 4): version 3 with
//	        the stored words' zero bytes 2 and 3 left out and a 2-bit
//	        count per word (masked4.go)
//	raw payload, for v = x (snapshot) or the delta against the base:
//	  float32: the 4 bytes of each value, shuffled into byte planes when
//	           zstd is on; a delta is the XOR of the IEEE bits (lossless)
//	  bf16:    2 bytes per value (bf16 of x, or of x - base), planes as above
//	  int8:    one float32 scale per bucket, then one code byte per value
//	           (symmetric 8-bit levels, rounded to nearest: deterministic)

// Payload flags (at most one): zstd, or zstd's Huffman stage alone
// (internal/ent). With Config.Zstd the encoder tries both and keeps the
// smaller: Huffman alone usually wins on weights and int8 codes (measured:
// 1.52x vs 1.45x on bf16 GRU weights, 3x faster to encode), zstd on
// payloads with repeats.
const (
	flagZstd    = 1
	flagHuffman = 2
)

func dense(id ID) bool { return id == IDFloat32 || id == IDBF16 || id == IDInt8 }

type denseParams struct {
	version, base uint64
	bucket        int
	mixed         bool   // codec version >= 2: the Huffman section may hold zstd chunks
	masked        bool   // codec version 3: a masked delta (the stored coordinates' words or codes, then the mask)
	stored        int    // codec versions 3 and 4: how many coordinates are stored
	sig           bool   // codec version 4: float32 stored words without their zero high bytes (masked4.go)
	high          [2]int // codec version 4: n_2, n_3
}

func parseDenseParams(h frame.Header) (denseParams, error) {
	var p denseParams
	if (h.CodecVersion < 1 || h.CodecVersion > 4) || (h.Flags != 0 && h.Flags != flagZstd && h.Flags != flagHuffman) {
		return p, fmt.Errorf("%w: %s version %d flags %#x unsupported", ErrCorrupt, ID(h.Codec), h.CodecVersion, h.Flags)
	}
	p.mixed = h.CodecVersion >= 2
	p.masked = h.CodecVersion >= 3
	p.sig = h.CodecVersion == 4
	r := frame.NewReader(h.Params)
	p.version, p.base, p.bucket = r.U64(), r.U64(), int(r.U32())
	if p.masked {
		p.stored = int(r.U32())
	}
	if p.sig {
		for t := range p.high {
			p.high[t] = int(r.U32())
		}
	}
	if err := r.Err(); err != nil {
		return p, err
	}
	if (ID(h.Codec) == IDInt8) != (p.bucket != 0) || p.bucket > 1<<20 {
		return p, fmt.Errorf("%w: %s bucket %d invalid", ErrCorrupt, ID(h.Codec), p.bucket)
	}
	if p.masked && (p.base == 0 || p.stored > int(h.Dim)) {
		return p, fmt.Errorf("%w: %s version %d (masked delta) with base version %d, %d of %d coordinates stored",
			ErrCorrupt, ID(h.Codec), h.CodecVersion, p.base, p.stored, h.Dim)
	}
	if p.sig && (ID(h.Codec) != IDFloat32 || p.high[0] > p.stored || p.high[1] > p.high[0]) {
		return p, fmt.Errorf("%w: %s version 4 with %d and %d high bytes of %d words", ErrCorrupt, ID(h.Codec), p.high[0], p.high[1], p.stored)
	}
	return p, nil
}

// payloadLen is the raw (decompressed) payload length of a blob of d
// values with params p.
func (p denseParams) payloadLen(id ID, d int) int {
	if p.sig {
		return v4Len(d, p.stored, p.high)
	}
	if p.masked {
		if id == IDInt8 {
			return 4*quant.Buckets(d, p.bucket) + p.stored + (d+7)/8
		}
		return wordBytes(id)*p.stored + (d+7)/8
	}
	return rawDenseLen(id, d, p.bucket)
}

// int8Zero is the int8 code of 0 (level 127 of 254): the code of a
// coordinate that version 3 does not store.
const int8Zero = 127

// wordBytes is the bytes per value of the float32 and bf16 layouts.
func wordBytes(id ID) int {
	if id == IDBF16 {
		return 2
	}
	return 4
}

func rawDenseLen(id ID, d, bucket int) int {
	switch id {
	case IDFloat32:
		return 4 * d
	case IDBF16:
		return 2 * d
	default:
		return 4*quant.Buckets(d, bucket) + d
	}
}

// EncodeModel encodes model x at version for download. With base nil it is
// a full snapshot (baseVersion must be 0); otherwise it is a delta against
// base, the parameters of baseVersion (>= 1) that the device confirmed it
// holds. Lossy deltas ("bf16", "int8") are small where the model moved
// little; their rounding error is relative to the change, not the weights.
// Callers send a snapshot when the device's version is unknown or too old.
func (e *Encoder) EncodeModel(x []float32, version uint64, base []float32, baseVersion uint64) ([]byte, error) {
	if !dense(e.id) {
		return nil, fmt.Errorf("%w: codec %s does not encode models", ErrConfig, e.id)
	}
	if (base == nil) != (baseVersion == 0) {
		return nil, fmt.Errorf("codec: a delta needs both a base and a base version >= 1 (got %d values, version %d)", len(base), baseVersion)
	}
	if base != nil && len(base) != len(x) {
		return nil, fmt.Errorf("codec: base has %d values, model %d", len(base), len(x))
	}
	d := len(x)
	bucket := 0
	if e.id == IDInt8 {
		bucket = e.cfg.bucket()
	}
	raw := growBytes(e.buf, rawDenseLen(e.id, d, bucket))
	e.buf = raw
	// With compression, float32 and bf16 are written straight into byte
	// planes (the layout the compressor gets), not shuffled afterwards.
	planes := e.cfg.Zstd
	// Version 3 (the default, for compressed float32 and bf16 deltas):
	// maskDelta builds the layout.
	masked := e.cfg.Zstd && (e.cfg.Version == 0 || e.cfg.Version >= 3) && base != nil
	// Version 4 (the default for compressed float32 deltas): version 3
	// without the stored words' zero high bytes (masked4.go).
	sig := masked && e.id == IDFloat32 && e.cfg.Version != 3
	var high [2]int
	var bad int
	switch e.id {
	case IDFloat32:
		if masked {
			bad = firstNonFinite(x) // maskDelta reads x and base itself
			break
		}
		bad = encodeF32(raw, x, base, planes)
	case IDBF16:
		bad = encodeBF16(raw, x, base, planes)
	case IDInt8:
		if bad = firstNonFinite(x); bad >= 0 {
			break
		}
		v := x
		if base != nil {
			v = growF32(e.scratch, d)
			e.scratch = v
			subF32(v, x, base)
		}
		nb := quant.Buckets(d, bucket)
		scales := make([]float32, nb)
		quant.Quantize(raw[4*nb:], scales, v, 8, bucket, nil)
		for i, s := range scales {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(s))
		}
	}
	if bad >= 0 {
		return nil, fmt.Errorf("codec: model coordinate %d is %v", bad, x[bad])
	}
	var flags uint16
	payload := raw
	codecVersion := uint8(1)
	stored := -1 // >= 0: a masked delta (version 3)
	if masked {
		var layout []byte
		if e.id == IDInt8 {
			layout, stored = e.maskInt8(raw, d, bucket)
		} else {
			layout, stored, high, sig = e.maskDelta(raw, x, base, sig)
		}
		if stored >= 0 {
			codecVersion = 3
			if sig {
				codecVersion = 4
			}
			flags, payload = flagHuffman, ent.AppendRuns(e.buf2[:0], layout)
			e.buf2 = payload // scratch: frame.Append copies it into the blob
		} else if e.id == IDFloat32 {
			encodeF32(raw, x, base, planes) // not reached: float32 always masks
		}
	}
	switch {
	case stored >= 0:
	case e.cfg.Zstd && e.cfg.Version == 1:
		flags, payload = e.compressPayload(raw)
	case e.cfg.Zstd && base == nil:
		// Snapshots: weights' byte planes have no long repeats, so zstd
		// over the whole payload is several times slower than Huffman per
		// chunk for no gain; zero runs (fresh biases) still get zstd runs.
		codecVersion = 2
		flags, payload = flagHuffman, ent.AppendMixed(e.buf2[:0], raw)
		e.buf2 = payload // scratch: frame.Append copies it into the blob
	case e.cfg.Zstd:
		// Deltas: whole-payload zstd still wins on some (the GRU's int8
		// and bf16 deltas, 6-9% smaller than the mixed form), so keep
		// version 1's choice. (The mixed form as the Huffman candidate
		// measured 1.5x slower: it runs zstd on the sample's zero runs too.)
		codecVersion = 2
		flags, payload = e.compressPayload(raw)
	}
	params := appendU64(appendU64(nil, version), baseVersion)
	params = appendU32(params, uint32(bucket))
	if stored >= 0 {
		params = appendU32(params, uint32(stored))
	}
	if sig {
		for _, n := range high {
			params = appendU32(params, uint32(n))
		}
	}
	h, err := e.header(params, d)
	if err != nil {
		return nil, err
	}
	h.Flags, h.CodecVersion = flags, codecVersion
	return frame.Append(make([]byte, 0, frame.Overhead(e.shapes)+len(params)+len(payload)), h, payload)
}

// maskDelta builds the version 3 layout of a float32 or bf16 delta: the
// words of the stored coordinates (those whose word is not zero: the
// value changed), as k byte planes of nz bytes, then the mask, one bit per
// coordinate (bit i&7 of byte i>>3), set where stored. It returns the
// layout (encoder scratch) and nz, or -1 where the encoder keeps version
// 2's layout: a bf16 delta with fewer than a quarter of its coordinates
// unchanged. (bf16's exponent plane is half the payload and repeats across
// rows and gates of a layer, which whole-payload zstd finds and the mixed
// section's 64 KiB chunks do not: on the bench's GRU, 8% unchanged, the
// masked form measured 6.6% larger; on the CNN, 32% unchanged, 4% smaller.
// A float32 delta's random low mantissa planes dominate it: the masked
// form measured 3-5% smaller on both.) For bf16, raw holds the 2 byte
// planes of d bytes (encodeBF16); float32 reads x and base.
func (e *Encoder) maskDelta(raw []byte, x, base []float32, sig bool) ([]byte, int, [2]int, bool) {
	d := len(x)
	k := wordBytes(e.id)
	mb := (d + 7) / 8
	pl := k * d
	if sig {
		pl = sigScratch(d) // and version 4's counts and masks
	}
	out := growBytes(e.buf3, pl+mb) // the planes, then the mask
	e.buf3 = out
	mask := out[pl:]
	var nz int
	if e.id == IDFloat32 {
		w := growF32(e.scratch, d)
		e.scratch = w
		nz = compactXOR(w, mask, x, base)
		if sig {
			high, o := sigSplit(out[:sigScratch(nz)], w[:nz])
			// Fewer than 1 in 32 words with a third byte: version 3's
			// high planes are zero runs that its zstd chunks code for
			// almost nothing, while version 4's counts still cost a bit
			// per count byte (measured 1.3% larger with 1.4%).
			if 32*high[0] >= nz {
				n := copy(out[o:], mask)
				return out[:o+n], nz, high, true
			}
		}
		splitWords(out[:4*nz], w[:nz])
	} else {
		nz = compactPlanes(out, mask, raw, d, k)
		if 4*(d-nz) < d {
			return nil, -1, [2]int{}, false
		}
		for p := 1; p < k; p++ {
			copy(out[p*nz:(p+1)*nz], out[p*d:p*d+nz])
		}
	}
	n := copy(out[k*nz:], mask) // may overlap: copy moves
	return out[:k*nz+n], nz, [2]int{}, false
}

// maskInt8 builds the version 3 layout of an int8 delta from raw (the
// scales, then d codes): the scales, the codes that are not int8Zero, then
// the mask (as maskDelta's). It returns -1 (keep version 2) where fewer
// than a quarter of the codes are int8Zero: as for bf16, whole-payload
// zstd finds the GRU's long-range repeats (the masked form measured 8%
// larger there, 10% unchanged; on the CNN, 37% unchanged, 1% smaller and
// 2.5x faster to compress).
func (e *Encoder) maskInt8(raw []byte, d, bucket int) ([]byte, int) {
	sb := 4 * quant.Buckets(d, bucket)
	mb := (d + 7) / 8
	out := growBytes(e.buf3, sb+d+mb)
	e.buf3 = out
	copy(out, raw[:sb])
	mask := out[sb+d:]
	nz := compactCodes(out[sb:sb+d], mask, raw[sb:sb+d])
	if 4*(d-nz) < d {
		return nil, -1
	}
	n := copy(out[sb+nz:], mask)
	return out[:sb+nz+n], nz
}

// compactCodes writes into dst the codes that are not int8Zero, in order,
// and their bits into mask; it returns how many there are.
func compactCodes(dst, mask, codes []byte) int {
	const zeros = int8Zero * 0x0101010101010101
	d := len(codes)
	j := 0
	g := 0
	for ; 8*g+8 <= d; g++ {
		v := binary.LittleEndian.Uint64(codes[8*g:])
		m := nonzeroBytes(v ^ zeros)
		mask[g] = m
		switch m {
		case 0:
		case 0xff:
			binary.LittleEndian.PutUint64(dst[j:], v) // j+8 <= 8g+8 <= d
			j += 8
		default:
			o, jj := dst[j:j+8], 0 // branch-free, as compactPlanes
			for t := range 8 {
				o[jj&7] = byte(v >> (8 * t))
				jj += int(m>>t) & 1
			}
			j += bits.OnesCount8(m)
		}
	}
	if i0 := 8 * g; i0 < d {
		var m byte
		for i := i0; i < d; i++ {
			if codes[i] != int8Zero {
				m |= 1 << (i - i0)
				dst[j] = codes[i]
				j++
			}
		}
		mask[g] = m
	}
	return j
}

// expandCodes writes into codes (d bytes) the stored codes at their
// coordinates and int8Zero elsewhere; stored holds them, mask the bits
// (validated by the caller) and nothing may follow stored but the mask
// (stored has one byte of slack: stored[len] is the mask's first byte).
func expandCodes(codes, stored, mask []byte) {
	const zeros = int8Zero * 0x0101010101010101
	d := len(codes)
	j := 0
	g := 0
	for ; 8*g+8 <= d; g++ {
		switch m := mask[g]; m {
		case 0:
			binary.LittleEndian.PutUint64(codes[8*g:], zeros)
		case 0xff:
			binary.LittleEndian.PutUint64(codes[8*g:], binary.LittleEndian.Uint64(stored[j:]))
			j += 8
		default:
			o := codes[8*g : 8*g+8]
			for t := range 8 {
				bit := int(m>>t) & 1
				// stored[j] may be the slack byte where bit is 0.
				o[t] = byte(bit)*stored[j] | byte(1-bit)*int8Zero
				j += bit
			}
		}
	}
	for i := 8 * g; i < d; i++ {
		codes[i] = int8Zero
		if mask[g]>>(i-8*g)&1 != 0 {
			codes[i] = stored[j]
			j++
		}
	}
}

// compactXOR writes into w the words bits(x) XOR bits(base) that are not
// zero, in order (as float32 bit patterns), and their bits into mask; it
// returns how many there are. Branch-free: every word is written at j,
// which only a non-zero one advances.
func compactXOR(w []float32, mask []byte, x, base []float32) int {
	d := len(x)
	x, base, w = x[:d], base[:d], w[:d]
	j := 0
	g := 0
	if useAVX2 && d >= 8 {
		g = d / 8
		j = compactXORAVX2(&w[0], &mask[0], &x[0], &base[0], 8*g, &compactLUT[0][0], &compactCount[0])
	}
	return compactXORGo(w, mask, x, base, g, j)
}

// compactLUT[m] lists the lanes of the set bits of m, in order (then
// zeros); compactCount[m] is how many there are. compactXORAVX2's tables.
var compactLUT, compactCount = compactTables()

func compactTables() (*[256][8]uint32, *[256]uint8) {
	var lut [256][8]uint32
	var cnt [256]uint8
	for m := range lut {
		k := 0
		for t := range 8 {
			if m>>t&1 != 0 {
				lut[m][k] = uint32(t)
				k++
			}
		}
		cnt[m] = uint8(k)
	}
	return &lut, &cnt
}

// compactXORGo is compactXOR's loops from group g on, j words stored.
func compactXORGo(w []float32, mask []byte, x, base []float32, g, j int) int {
	d := len(x)
	for ; 8*g+8 <= d; g++ {
		xs, bs := x[8*g:8*g+8], base[8*g:8*g+8]
		var m uint32
		for t := range 8 {
			b := math.Float32bits(xs[t]) ^ math.Float32bits(bs[t])
			w[j] = math.Float32frombits(b) // j <= 8g+t < d
			nz := (b | -b) >> 31
			m |= nz << t
			j += int(nz)
		}
		mask[g] = byte(m)
	}
	if i0 := 8 * g; i0 < d {
		var m uint32
		for i := i0; i < d; i++ {
			b := math.Float32bits(x[i]) ^ math.Float32bits(base[i])
			w[j] = math.Float32frombits(b)
			nz := (b | -b) >> 31
			m |= nz << (i - i0)
			j += int(nz)
		}
		mask[g] = byte(m)
	}
	return j
}

// splitWords writes the words w (float32 bit patterns, any bits) into p as
// 4 byte planes of len(w) bytes.
func splitWords(p []byte, w []float32) {
	n := len(w)
	p = p[:4*n]
	k := 0
	if useAVX2 && n >= 32 {
		k = n &^ 31
		splitF32AVX2(&p[0], &w[0], nil, k, n)
	}
	for i := k; i < n; i++ {
		b := math.Float32bits(w[i])
		p[i], p[n+i], p[2*n+i], p[3*n+i] = byte(b), byte(b>>8), byte(b>>16), byte(b>>24)
	}
}

// compactPlanes writes into out (k regions of d bytes) the bytes of the
// values whose k plane bytes in raw are not all zero, plane by plane, and
// their bits into mask; it returns how many there are. Eight values at a
// time: one 8-byte load per plane, and an all-stored or none-stored group
// (most of them) costs no per-value work.
func compactPlanes(out, mask, raw []byte, d, k int) int {
	var src, dst [4][]byte
	for p := range k {
		src[p] = raw[p*d : (p+1)*d]
		dst[p] = out[p*d : (p+1)*d]
	}
	j := 0
	g := 0
	for ; 8*g+8 <= d; g++ {
		var v [4]uint64
		var or uint64
		for p := range k {
			v[p] = binary.LittleEndian.Uint64(src[p][8*g:])
			or |= v[p]
		}
		m := nonzeroBytes(or)
		mask[g] = m
		switch m {
		case 0:
		case 0xff:
			for p := range k {
				binary.LittleEndian.PutUint64(dst[p][j:], v[p]) // j+8 <= 8g+8 <= d
			}
			j += 8
		default:
			// Branch-free: every byte is written at j, which only a
			// stored one advances (j+t < 8g+8 <= d: in the plane).
			for p := range k {
				d, x, jj := dst[p][j:j+8], v[p], 0
				for t := range 8 {
					d[jj&7] = byte(x >> (8 * t))
					jj += int(m>>t) & 1
				}
			}
			j += bits.OnesCount8(m)
		}
	}
	if i0 := 8 * g; i0 < d {
		var m byte
		for i := i0; i < d; i++ {
			var or byte
			for p := range k {
				or |= src[p][i]
			}
			if or != 0 {
				m |= 1 << (i - i0)
				for p := range k {
					dst[p][j] = src[p][i]
				}
				j++
			}
		}
		mask[g] = m
	}
	return j
}

// nonzeroBytes returns a byte whose bit t is set iff byte t of x is not
// zero.
func nonzeroBytes(x uint64) byte {
	const lo7, hi = 0x7f7f7f7f7f7f7f7f, 0x8080808080808080
	h := ((x&lo7 + lo7) | x) & hi // the high bit of each non-zero byte
	// Bit 8t+7 to bit 56+t: the products of the other pairs fall below
	// bit 56 or past bit 63, at distinct places (no carries).
	return byte((h >> 7) * 0x0102040810204080 >> 56)
}

// expandPlanes writes into full (k planes of d bytes) the version 3
// payload's stored words at their coordinates and zeros elsewhere: the
// byte planes of version 2, which f32FromPlanes and bf16FromPlanes then
// read (an unstored coordinate decodes as a zero word: the base for
// float32, base + 0 for bf16). raw holds the k planes of nz bytes, then
// the mask (validated by the caller, so that it has nz bits set).
func expandPlanes(full, raw []byte, d, k, nz int) {
	if d == 0 {
		return
	}
	mask := raw[k*nz:]
	var src, dst [4][]byte
	for p := range k {
		src[p] = raw[p*nz : (p+1)*nz+1] // one byte of slack: the next plane or the mask
		dst[p] = full[p*d : (p+1)*d]
	}
	j := 0
	g := 0
	for ; 8*g+8 <= d; g++ {
		switch m := mask[g]; m {
		case 0:
			for p := range k {
				binary.LittleEndian.PutUint64(dst[p][8*g:], 0)
			}
		case 0xff:
			for p := range k {
				binary.LittleEndian.PutUint64(dst[p][8*g:], binary.LittleEndian.Uint64(src[p][j:]))
			}
			j += 8
		default:
			// Branch-free: the source index of each coordinate (j before
			// the first stored one past the last, so the reads stay in
			// the slack), and a mask that zeroes the unstored ones.
			var at [8]int
			var keep uint64
			jj := j
			for t := range 8 {
				bit := int(m>>t) & 1
				at[t] = jj
				keep |= uint64(0xff*bit) << (8 * t)
				jj += bit
			}
			for p := range k {
				s := src[p]
				w := uint64(s[at[0]]) | uint64(s[at[1]])<<8 | uint64(s[at[2]])<<16 | uint64(s[at[3]])<<24 |
					uint64(s[at[4]])<<32 | uint64(s[at[5]])<<40 | uint64(s[at[6]])<<48 | uint64(s[at[7]])<<56
				binary.LittleEndian.PutUint64(dst[p][8*g:], w&keep)
			}
			j = jj
		}
	}
	for i := 8 * g; i < d; i++ {
		stored := mask[g]>>(i-8*g)&1 != 0
		for p := range k {
			dst[p][i] = 0
			if stored {
				dst[p][i] = src[p][j]
			}
		}
		if stored {
			j++
		}
	}
}

// unmaskF32 sets vals[i] to base[i] XOR the next stored word where mask
// has bit i, else to base[i], and returns the finiteness flag of
// f32FromPlanes. w holds the stored words and 8 more (zero): the
// branch-free loop reads w[j] for every coordinate, the AVX2 kernel
// 8 words at j.
func unmaskF32(vals, w []float32, mask []byte, base []float32) uint32 {
	d := len(vals)
	base = base[:d]
	if useAVX2 && d >= 8 {
		g := d / 8
		flag, j := unmaskF32AVX2(&vals[0], &w[0], &mask[0], &base[0], 8*g, &expandLUT[0][0], &compactCount[0])
		return flag | unmaskF32Go(vals, w, mask, base, g, j)
	}
	return unmaskF32Go(vals, w, mask, base, 0, 0)
}

// expandLUT[m] gives each set bit's lane of m its rank among them (the
// inverse of compactLUT's packing): unmaskF32AVX2's table.
var expandLUT = func() *[256][8]uint32 {
	var lut [256][8]uint32
	for m := range lut {
		k := uint32(0)
		for t := range 8 {
			if m>>t&1 != 0 {
				lut[m][t] = k
				k++
			}
		}
	}
	return &lut
}()

// unmaskF32Go is unmaskF32's loops from group g on, j words read.
func unmaskF32Go(vals, w []float32, mask []byte, base []float32, g, j int) uint32 {
	d := len(vals)
	var flag uint32
	for ; 8*g+8 <= d; g++ {
		vs, bs := vals[8*g:8*g+8], base[8*g:8*g+8]
		switch m := uint32(mask[g]); m {
		case 0:
			for t, b := range bs {
				vs[t] = b
				flag |= math.Float32bits(b)&0x7f800000 + 0x00800000
			}
		case 0xff:
			ws := w[j : j+8]
			for t, b := range bs {
				u := math.Float32bits(b) ^ math.Float32bits(ws[t])
				vs[t] = math.Float32frombits(u)
				flag |= u&0x7f800000 + 0x00800000
			}
			j += 8
		default:
			for t, b := range bs {
				bit := m >> t & 1
				u := math.Float32bits(b) ^ math.Float32bits(w[j])&-bit
				vs[t] = math.Float32frombits(u)
				flag |= u&0x7f800000 + 0x00800000
				j += int(bit)
			}
		}
	}
	for i := 8 * g; i < d; i++ {
		bit := uint32(mask[g]>>(i-8*g)) & 1
		u := math.Float32bits(base[i]) ^ math.Float32bits(w[j])&-bit
		vals[i] = math.Float32frombits(u)
		flag |= u&0x7f800000 + 0x00800000
		j += int(bit)
	}
	return flag
}

// checkMask verifies a version 3 mask: nz bits set, none past d.
func checkMask(mask []byte, d, nz int) error {
	n := 0
	for _, b := range mask {
		n += bits.OnesCount8(b)
	}
	if r := d & 7; r != 0 && len(mask) > 0 && mask[len(mask)-1]>>r != 0 {
		return fmt.Errorf("%w: mask has bits past coordinate %d", ErrCorrupt, d)
	}
	if n != nz {
		return fmt.Errorf("%w: mask has %d coordinates, params say %d", ErrCorrupt, n, nz)
	}
	return nil
}

// compressPayload (download version 1) returns the smaller of zstd and
// Huffman alone (ent.Append). On large
// payloads it first compresses a sample (every fourth 64 KiB slice) both
// ways and then only the whole payload with the sample's winner, unless
// the sample is too close to call. Measured on the bench's CNN and GRU
// downloads the sample picked the winner every time (slices of 16 KiB did
// not: zstd gains more than Huffman from long contexts).
//
// Huffman is not run where zstd already beats ent.LowerBound (a bound from
// byte histograms that Huffman's output never goes below): the choice, and
// so the bytes, are exactly those of running both. On the bench's deltas
// zstd wins by 6-12%, so the payloads under 512 KiB (every int8 delta, the
// CNN's) no longer pay a full Huffman pass, nor the sampled ones a sampled
// one.
//
// Everything is written into the encoder's scratch (e.buf2, e.buf3), sized
// up front so that neither coder regrows its output (zstd's EncodeAll
// appends block by block: from a nil dst a 1.8 MB payload was copied about
// a dozen times); the payload returned lives there until the next call
// (frame.Append copies it into the blob).
func (e *Encoder) compressPayload(raw []byte) (uint16, []byte) {
	const slice, every = 64 << 10, 4
	// Room for either coder's worst case (stored blocks / raw chunks).
	room := func(s []byte, n int) []byte {
		if need := n + n>>6 + 1024; cap(s) < need {
			return make([]byte, 0, need)
		}
		return s[:0]
	}
	if len(raw) >= 2*every*slice {
		sample := e.buf3[:0]
		if n := (len(raw)/(every*slice) + 1) * slice; cap(sample) < n {
			sample = make([]byte, 0, n)
		}
		for o := 0; o+slice <= len(raw); o += every * slice {
			sample = append(sample, raw[o:o+slice]...)
		}
		e.buf3 = sample
		tmp := zst.Append(room(e.buf2, len(sample)), sample)
		e.buf2 = tmp
		z := float64(len(tmp))
		// h >= LowerBound, so z < 0.995·bound implies z < 0.995·h.
		zstdWins := z < 0.995*float64(ent.LowerBound(sample))
		if !zstdWins {
			tmp = ent.Append(tmp[:0], sample)
			e.buf2 = tmp
			h := float64(len(tmp))
			if h < 0.995*z {
				e.buf2 = ent.Append(room(e.buf2, len(raw)), raw)
				return flagHuffman, e.buf2
			}
			zstdWins = z < 0.995*h
		}
		if zstdWins {
			e.buf2 = zst.Append(room(e.buf2, len(raw)), raw)
			return flagZstd, e.buf2
		}
	}
	zs := zst.Append(room(e.buf2, len(raw)), raw)
	e.buf2 = zs
	if len(zs) <= ent.LowerBound(raw) {
		return flagZstd, zs // Huffman would be no smaller; zstd wins ties
	}
	hf := ent.Append(room(e.buf3, len(raw)), raw)
	e.buf3 = hf
	if len(hf) < len(zs) {
		return flagHuffman, hf
	}
	return flagZstd, zs
}

// subF32 sets dst[i] = x[i] − base[i] (the int8 delta's input), with the
// AVX2 kernel where it applies.
func subF32(dst, x, base []float32) {
	x, base = x[:len(dst)], base[:len(dst)] // no bounds checks
	k := 0
	if useAVX2 && len(dst) >= 8 {
		k = len(dst) &^ 7
		subF32AVX2(&dst[0], &x[0], &base[0], k)
	}
	for i := k; i < len(dst); i++ {
		dst[i] = x[i] - base[i]
	}
}

// encodeF32 writes the bits of x (XOR base's, if any) into raw, as
// little-endian words or as 4 byte planes. It returns the index of the
// first non-finite x, or -1. One tight loop per layout: the per-value
// branches cost as much as the work, in wasm more.
func encodeF32(raw []byte, x, base []float32, planes bool) int {
	if i := firstNonFinite(x); i >= 0 {
		return i
	}
	n := len(x)
	if base != nil {
		base = base[:n]
	}
	if !planes {
		raw = raw[:4*n]
		for i, v := range x {
			b := math.Float32bits(v)
			if base != nil {
				b ^= math.Float32bits(base[i])
			}
			binary.LittleEndian.PutUint32(raw[4*i:], b)
		}
		return -1
	}
	p0, p1, p2, p3 := raw[:n], raw[n:2*n], raw[2*n:3*n], raw[3*n:4*n]
	k := 0 // values done by the AVX2 transpose
	if useAVX2 && n >= 32 {
		k = n &^ 31
		var b *float32
		if base != nil {
			b = &base[0]
		}
		splitF32AVX2(&raw[0], &x[0], b, k, n)
	}
	for i := k; i < n; i++ {
		v := x[i]
		b := math.Float32bits(v)
		if base != nil {
			b ^= math.Float32bits(base[i])
		}
		p0[i], p1[i], p2[i], p3[i] = byte(b), byte(b>>8), byte(b>>16), byte(b>>24)
	}
	return -1
}

// encodeBF16 writes bf16(x − base) (base may be nil) into raw, as
// little-endian halves or as 2 byte planes; it returns the index of the
// first non-finite x, or -1.
func encodeBF16(raw []byte, x, base []float32, planes bool) int {
	if i := firstNonFinite(x); i >= 0 {
		return i
	}
	n := len(x)
	if base != nil {
		base = base[:n]
	}
	p0, p1 := raw[:n], raw[n:2*n]
	k := 0 // values done by the AVX2 kernel
	if useAVX2 && planes && n >= 32 {
		k = n &^ 31
		var b *float32
		if base != nil {
			b = &base[0]
		}
		splitBF16AVX2(&raw[0], &x[0], b, k, n)
	}
	for i := k; i < n; i++ {
		v := x[i]
		if base != nil {
			v -= base[i]
		}
		h := quant.BF16(v)
		if planes {
			p0[i], p1[i] = byte(h), byte(h>>8)
		} else {
			binary.LittleEndian.PutUint16(raw[2*i:], h)
		}
	}
	return -1
}

// f32FromPlanes sets vals from 4 byte planes (XOR base's bits, if any)
// and returns the finiteness flag of firstNonFinite (bit 31 set iff some
// value is NaN or ±Inf). Separate loops with and without a base keep the
// per-value branch out.
func f32FromPlanes(vals []float32, raw []byte, base []float32) uint32 {
	d := len(vals)
	if useAVX2 && d >= 32 {
		k := d &^ 31
		var b *float32
		if base != nil {
			b = &base[0]
		}
		flag := mergeF32AVX2(&vals[0], &raw[0], b, k, d)
		return flag | f32FromPlanesGo(vals, raw, base, k)
	}
	return f32FromPlanesGo(vals, raw, base, 0)
}

// f32FromPlanesGo is f32FromPlanes' loops from value k on.
func f32FromPlanesGo(vals []float32, raw []byte, base []float32, k int) uint32 {
	d := len(vals)
	p0, p1, p2, p3 := raw[:d], raw[d:2*d], raw[2*d:3*d], raw[3*d:4*d]
	var flag uint32
	if base != nil {
		base = base[:d]
		for i := k; i < d; i++ {
			b := (uint32(p0[i]) | uint32(p1[i])<<8 | uint32(p2[i])<<16 | uint32(p3[i])<<24) ^ math.Float32bits(base[i])
			vals[i] = math.Float32frombits(b)
			flag |= b&0x7f800000 + 0x00800000
		}
		return flag
	}
	for i := k; i < d; i++ {
		b := uint32(p0[i]) | uint32(p1[i])<<8 | uint32(p2[i])<<16 | uint32(p3[i])<<24
		vals[i] = math.Float32frombits(b)
		flag |= b&0x7f800000 + 0x00800000
	}
	return flag
}

// bf16FromPlanes is f32FromPlanes for 2 bf16 planes (plus base, if any).
func bf16FromPlanes(vals []float32, raw []byte, base []float32) uint32 {
	d := len(vals)
	if useAVX2 && d >= 32 {
		k := d &^ 31
		var b *float32
		if base != nil {
			b = &base[0]
		}
		flag := mergeBF16AVX2(&vals[0], &raw[0], b, k, d)
		return flag | bf16FromPlanesGo(vals, raw, base, k)
	}
	return bf16FromPlanesGo(vals, raw, base, 0)
}

// bf16FromPlanesGo is bf16FromPlanes' loops from value k on.
func bf16FromPlanesGo(vals []float32, raw []byte, base []float32, k int) uint32 {
	d := len(vals)
	p0, p1 := raw[:d], raw[d:2*d]
	var flag uint32
	if base != nil {
		base = base[:d]
		for i := k; i < d; i++ {
			v := quant.FromBF16(uint16(p0[i])|uint16(p1[i])<<8) + base[i]
			vals[i] = v
			flag |= math.Float32bits(v)&0x7f800000 + 0x00800000
		}
		return flag
	}
	for i := k; i < d; i++ {
		b := (uint32(p0[i]) | uint32(p1[i])<<8) << 16
		vals[i] = math.Float32frombits(b)
		flag |= b&0x7f800000 + 0x00800000
	}
	return flag
}

// firstNonFinite returns the index of the first NaN or ±Inf in x, or -1.
// The scan ORs a flag that is set exactly for exponent 0xFF (e + 2^23
// carries into bit 31 only then), so it has no branch per value.
func firstNonFinite(x []float32) int {
	var flag uint32
	rest := x
	if useAVX2 && len(x) >= 32 {
		k := len(x) &^ 31
		flag = finiteFlagAVX2(&x[0], k)
		rest = x[k:]
	}
	for _, v := range rest {
		flag |= math.Float32bits(v)&0x7f800000 + 0x00800000
	}
	if flag&0x80000000 == 0 {
		return -1
	}
	for i, v := range x {
		if !quant.Finite(v) {
			return i
		}
	}
	return -1
}

// DecodeModel decodes a download blob. A delta needs have, the parameters
// of haveVersion; when the blob's base differs it returns ErrBaseMismatch
// (ask for a snapshot). have is not modified. It returns the model and its
// version.
func DecodeModel(blob []byte, have []float32, haveVersion uint64, opts ...DecodeOption) ([]float32, uint64, error) {
	h, payload, err := parse(blob, opts)
	if err != nil {
		return nil, 0, err
	}
	if !dense(ID(h.Codec)) {
		return nil, 0, fmt.Errorf("%w: %s is not a model codec", ErrCorrupt, ID(h.Codec))
	}
	p, err := parseDenseParams(h)
	if err != nil {
		return nil, 0, err
	}
	var base []float32
	if p.base != 0 {
		if p.base != haveVersion || len(have) != int(h.Dim) {
			return nil, 0, fmt.Errorf("%w: delta from version %d (%d values), caller holds version %d (%d values)",
				ErrBaseMismatch, p.base, h.Dim, haveVersion, len(have))
		}
		base = have
	}
	out := make([]float32, h.Dim)
	if err := decodeDense(out, h, p, payload, base, 1, false); err != nil {
		return nil, 0, err
	}
	return out, p.version, nil
}

// rawPool holds *[]byte scratch for decompressed download payloads;
// wordPool *[]float32 scratch for version 3's stored words.
var rawPool, wordPool sync.Pool

func decodeDense(dst []float32, h frame.Header, p denseParams, payload []byte, base []float32, w float32, add bool) error {
	id := ID(h.Codec)
	d := len(dst)
	n := p.payloadLen(id, d)
	raw := payload
	if h.Flags != 0 {
		// The decompressed payload is scratch (the values are copied out
		// of it below): reuse pooled buffers rather than allocate and zero
		// one per decode.
		bp, _ := rawPool.Get().(*[]byte)
		if bp == nil {
			bp = new([]byte)
		}
		defer rawPool.Put(bp)
		var z []byte
		var err error
		switch {
		case h.Flags == flagZstd:
			z, err = zst.AppendDecode((*bp)[:0], payload, n)
		default:
			z, err = ent.DecodeInto(*bp, payload, n, p.mixed)
		}
		if err != nil {
			return fmt.Errorf("%s payload: %w", id, err)
		}
		*bp = z
		raw = z
	} else if len(raw) != n {
		return fmt.Errorf("%w: %s payload is %d bytes, want %d", ErrCorrupt, id, len(raw), n)
	}
	planes := h.Flags != 0 // compressed float32 and bf16 are in byte planes
	vals := dst
	if add {
		vals = make([]float32, d)
	}
	if base != nil {
		base = base[:d]
	}
	// One pass per codec and layout: read (from planes), apply the base,
	// and accumulate the branch-free finiteness flag (see firstNonFinite)
	// in the same loop; the int8 codes get a separate scan.
	var flag uint32
	switch {
	case p.masked && id == IDFloat32:
		nz := p.stored
		ws := 4 * nz // the stored words' bytes
		if p.sig {
			ws = n - (d+7)/8
			if err := checkCounts(raw[ws-(nz+3)/4:ws], nz, p.high); err != nil {
				return err
			}
		}
		if err := checkMask(raw[ws:n], d, nz); err != nil {
			return err
		}
		wp, _ := wordPool.Get().(*[]float32)
		if wp == nil {
			wp = new([]float32)
		}
		defer wordPool.Put(wp)
		if cap(*wp) < nz+8 {
			*wp = make([]float32, nz+8)
		}
		w := (*wp)[:nz+8] // slack: the kernel loads 8 words at any j <= nz
		var planes []byte
		if !p.sig {
			planes = raw[:4*nz]
		} else {
			fp, _ := rawPool.Get().(*[]byte)
			if fp == nil {
				fp = new([]byte)
			}
			defer rawPool.Put(fp)
			if cap(*fp) < sigJoinScratch(nz) {
				*fp = make([]byte, sigJoinScratch(nz))
			}
			sigJoin((*fp)[:sigJoinScratch(nz)], raw[:n], nz, p.high)
			planes = (*fp)[:4*nz]
		}
		f32FromPlanes(w[:nz], planes, nil) // any bits: the flag is not used
		clear(w[nz:])
		flag = unmaskF32(vals, w, raw[ws:n], base)
	case p.masked && id == IDInt8:
		sb := 4 * quant.Buckets(d, p.bucket)
		nz := p.stored
		if err := checkMask(raw[sb+nz:n], d, nz); err != nil {
			return err
		}
		fp, _ := rawPool.Get().(*[]byte)
		if fp == nil {
			fp = new([]byte)
		}
		defer rawPool.Put(fp)
		if cap(*fp) < sb+d {
			*fp = make([]byte, sb+d)
		}
		full := (*fp)[:sb+d]
		copy(full, raw[:sb])
		expandCodes(full[sb:], raw[sb:n], raw[sb+nz:n])
		if err := decodeValues(vals, full, 8, p.bucket); err != nil {
			return err
		}
		if base != nil {
			for i, b := range base {
				vals[i] += b
			}
		}
		flag = 0x80000000 // scan below
	case p.masked:
		k := wordBytes(id)
		if err := checkMask(raw[k*p.stored:n], d, p.stored); err != nil {
			return err
		}
		fp, _ := rawPool.Get().(*[]byte)
		if fp == nil {
			fp = new([]byte)
		}
		defer rawPool.Put(fp)
		if cap(*fp) < k*d {
			*fp = make([]byte, k*d)
		}
		full := (*fp)[:k*d]
		expandPlanes(full, raw[:n], d, k, p.stored)
		flag = bf16FromPlanes(vals, full, base)
	case id == IDFloat32:
		if planes {
			flag = f32FromPlanes(vals, raw, base)
		} else {
			raw = raw[:4*d]
			for i := range vals {
				b := binary.LittleEndian.Uint32(raw[4*i:])
				if base != nil {
					b ^= math.Float32bits(base[i])
				}
				vals[i] = math.Float32frombits(b)
				flag |= b&0x7f800000 + 0x00800000
			}
		}
	case id == IDBF16:
		if planes {
			flag = bf16FromPlanes(vals, raw, base)
		} else {
			raw = raw[:2*d]
			for i := range vals {
				v := quant.FromBF16(binary.LittleEndian.Uint16(raw[2*i:]))
				if base != nil {
					v += base[i]
				}
				vals[i] = v
				flag |= math.Float32bits(v)&0x7f800000 + 0x00800000
			}
		}
	case id == IDInt8:
		if err := decodeValues(vals, raw, 8, p.bucket); err != nil {
			return err
		}
		if base != nil {
			for i, b := range base {
				vals[i] += b
			}
		}
		flag = 0x80000000 // scan below
	}
	if flag&0x80000000 != 0 {
		if bad := firstNonFinite(vals); bad >= 0 {
			return fmt.Errorf("%w: decoded coordinate %d is %v", ErrCorrupt, bad, vals[bad])
		}
	}
	if add {
		for i, v := range vals {
			dst[i] += w * v
		}
	}
	return nil
}
