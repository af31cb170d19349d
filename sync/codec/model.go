package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"

	"github.com/murmur-fl/murmur/sync/codec/internal/ent"
	"github.com/murmur-fl/murmur/sync/codec/internal/frame"
	"github.com/murmur-fl/murmur/sync/codec/internal/quant"
	"github.com/murmur-fl/murmur/sync/codec/internal/zst"
)

// Download codecs ("float32", "bf16", "int8"), codec versions 1 and 2:
//
//	flags:  0: raw; 1: zstd section; 2: Huffman section (internal/ent);
//	        in version 2 flag 2's section may also hold zstd chunks
//	        (ent's mixed form). Encoders write version 2 only for a
//	        compressed payload (Config.Version 0 or 2), so an uncompressed
//	        blob is the same bytes in both versions.
//	params: u64 version, u64 base version (0: a snapshot), u32 bucket
//	        (int8 only, else 0)
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
	mixed         bool // codec version 2: the Huffman section may hold zstd chunks
}

func parseDenseParams(h frame.Header) (denseParams, error) {
	var p denseParams
	if (h.CodecVersion != 1 && h.CodecVersion != 2) || (h.Flags != 0 && h.Flags != flagZstd && h.Flags != flagHuffman) {
		return p, fmt.Errorf("%w: %s version %d flags %#x unsupported", ErrCorrupt, ID(h.Codec), h.CodecVersion, h.Flags)
	}
	p.mixed = h.CodecVersion == 2
	r := frame.NewReader(h.Params)
	p.version, p.base, p.bucket = r.U64(), r.U64(), int(r.U32())
	if err := r.Err(); err != nil {
		return p, err
	}
	if (ID(h.Codec) == IDInt8) != (p.bucket != 0) || p.bucket > 1<<20 {
		return p, fmt.Errorf("%w: %s bucket %d invalid", ErrCorrupt, ID(h.Codec), p.bucket)
	}
	return p, nil
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
	var bad int
	switch e.id {
	case IDFloat32:
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
	switch {
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
	h, err := e.header(params, d)
	if err != nil {
		return nil, err
	}
	h.Flags, h.CodecVersion = flags, codecVersion
	return frame.Append(make([]byte, 0, frame.Overhead(e.shapes)+len(params)+len(payload)), h, payload)
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

// rawPool holds *[]byte scratch for decompressed download payloads.
var rawPool sync.Pool

func decodeDense(dst []float32, h frame.Header, p denseParams, payload []byte, base []float32, w float32, add bool) error {
	id := ID(h.Codec)
	d := len(dst)
	n := rawDenseLen(id, d, p.bucket)
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
	switch id {
	case IDFloat32:
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
	case IDBF16:
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
	case IDInt8:
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
