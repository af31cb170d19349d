package codec

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/murmur-fl/murmur/sync/codec/internal/ent"
	"github.com/murmur-fl/murmur/sync/codec/internal/frame"
	"github.com/murmur-fl/murmur/sync/codec/internal/quant"
	"github.com/murmur-fl/murmur/sync/codec/internal/rice"
	"github.com/murmur-fl/murmur/sync/codec/internal/topk"
	"github.com/murmur-fl/murmur/sync/codec/internal/zst"
)

// "topk" payload (codec version 1):
//
//	params: u32 k, u8 bits, u32 bucket, u8 index coder, u8 Rice
//	        parameter, u32 index section length, u32 raw varint length
//	payload: the indices (strictly increasing, < dim): Golomb-Rice coded
//	         gaps (internal/rice) or zstd of uvarint gaps, whichever is
//	         smaller; then the values: zstd for bits 32 and 16, Huffman
//	         chunks (internal/ent) for quantization codes
//	values:  bits 32: k float32; bits 16: k bf16; bits 2..8: one float32
//	         scale per bucket of values, then k code bytes (QSGD)
//
// "qsgd" payload: params u8 bits, u32 bucket; payload: Huffman chunks
// (internal/ent) of one float32 scale per bucket, then dim code bytes.

func (c Config) topkBits() int {
	if c.Bits == 0 {
		return 32
	}
	return c.Bits
}

func (c Config) qsgdBits() int {
	if c.Bits == 0 {
		return 4
	}
	return c.Bits
}

// K returns how many coordinates "topk" keeps of a dim-long vector.
func (c Config) K(dim int) int {
	f := c.Fraction
	if f == 0 {
		f = 0.01
	}
	if dim == 0 {
		return 0
	}
	return min(dim, max(1, int(math.Round(f*float64(dim)))))
}

func (e *Encoder) encodeUpdate(x []float32, r *Residual) ([]byte, error) {
	d := len(x)
	for i, v := range x {
		if !quant.Finite(v) {
			return nil, fmt.Errorf("codec: update coordinate %d is %v", i, v)
		}
	}
	a := x // the vector to encode: x, or x + residual kept in r.v
	if r != nil {
		if len(r.v) == 0 {
			r.v = make([]float32, d)
		}
		if len(r.v) != d {
			return nil, fmt.Errorf("codec: residual has %d values but the update has %d (model changed? reset the residual)", len(r.v), d)
		}
		for i, v := range x {
			if !quant.Finite(v + r.v[i]) {
				return nil, fmt.Errorf("codec: update coordinate %d plus its residual overflows", i)
			}
		}
		for i, v := range x {
			r.v[i] += v
		}
		a = r.v
	}
	if e.id == IDQSGD {
		return e.encodeQSGD(a, r != nil)
	}
	return e.encodeTopK(a, r != nil)
}

func (e *Encoder) encodeTopK(a []float32, feedback bool) ([]byte, error) {
	d := len(a)
	k := e.cfg.K(d)
	bits, bucket := e.cfg.topkBits(), e.cfg.bucket()
	e.idx = topk.Select(e.idx[:0], a, k)
	idx := e.idx

	coder, rk, ib, rawLen := e.encodeIndices(idx, d)

	vals := growF32(e.scratch, k)
	e.scratch = vals
	for j, i := range idx {
		vals[j] = a[i]
	}
	vb := e.encodeValues(e.buf2[:0], vals, bits, bucket, feedback) // vals now hold what the receiver decodes
	e.buf2 = vb
	if feedback {
		for j, i := range idx {
			a[i] -= vals[j]
		}
	}

	payload := appendValues(append([]byte(nil), ib...), vb, bits)
	params := appendU32(nil, uint32(k))
	params = append(params, uint8(bits))
	params = appendU32(params, uint32(bucket))
	params = append(params, coder, uint8(rk))
	params = appendU32(params, uint32(len(ib)))
	params = appendU32(params, uint32(rawLen))
	h, err := e.header(params, d)
	if err != nil {
		return nil, err
	}
	return frame.Append(make([]byte, 0, frame.Overhead(e.shapes)+len(params)+len(payload)), h, payload)
}

// encodeValues appends the value section for vals and, when recon is set,
// overwrites vals with the values a decoder will reconstruct.
func (e *Encoder) encodeValues(dst []byte, vals []float32, bits, bucket int, recon bool) []byte {
	switch bits {
	case 32:
		for _, v := range vals {
			dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(v))
		}
	case 16:
		for i, v := range vals {
			h := quant.BF16(v)
			dst = binary.LittleEndian.AppendUint16(dst, h)
			if recon {
				vals[i] = quant.FromBF16(h)
			}
		}
	default:
		nb := quant.Buckets(len(vals), bucket)
		scales := make([]float32, nb)
		start := len(dst)
		dst = append(dst, make([]byte, 4*nb+len(vals))...)
		codes := dst[start+4*nb:]
		quant.Quantize(codes, scales, vals, bits, bucket, e.rng)
		for i, s := range scales {
			binary.LittleEndian.PutUint32(dst[start+4*i:], math.Float32bits(s))
		}
		if recon {
			quant.Dequantize(vals, codes, scales, bits, bucket)
		}
	}
	return dst
}

func (e *Encoder) encodeQSGD(a []float32, feedback bool) ([]byte, error) {
	d := len(a)
	bits, bucket := e.cfg.qsgdBits(), e.cfg.bucket()
	vals := a
	if feedback {
		vals = growF32(e.scratch, d)
		e.scratch = vals
		copy(vals, a)
	}
	vb := e.encodeValues(e.buf2[:0], vals, bits, bucket, feedback)
	e.buf2 = vb
	if feedback {
		for i := range a {
			a[i] -= vals[i]
		}
	}
	payload := appendValues(nil, vb, bits)
	params := append([]byte{uint8(bits)}, appendU32(nil, uint32(bucket))...)
	h, err := e.header(params, d)
	if err != nil {
		return nil, err
	}
	return frame.Append(make([]byte, 0, frame.Overhead(e.shapes)+len(params)+len(payload)), h, payload)
}

// Index coders: Golomb-Rice suits scattered indices (near the entropy of
// random gaps), varint gaps + zstd suits clustered ones (runs of adjacent
// coordinates, as in embedding rows); the encoder keeps the smaller.
const (
	indexRice = 0
	indexZstd = 1
)

func (e *Encoder) encodeIndices(idx []uint32, d int) (coder uint8, rk int, section []byte, rawLen int) {
	rk = rice.Param(idx, d)
	r := rice.Append(e.buf[:0], idx, rk)
	e.buf = r
	vb := e.buf2[:0]
	prev := -1
	for _, i := range idx {
		vb = binary.AppendUvarint(vb, uint64(int(i)-prev-1))
		prev = int(i)
	}
	e.buf2 = vb
	z := zst.Append(nil, vb)
	if len(z) < len(r) {
		return indexZstd, 0, z, len(vb)
	}
	return indexRice, rk, r, 0
}

func decodeIndices(section []byte, coder uint8, rk, rawLen, k, d int) ([]uint32, error) {
	switch coder {
	case indexRice:
		if rawLen != 0 {
			return nil, fmt.Errorf("%w: Rice index section with a raw length", ErrCorrupt)
		}
		return rice.Decode(make([]uint32, 0, min(k, 8*len(section))), section, k, d, rk)
	case indexZstd:
		if rk != 0 || rawLen < k || rawLen > 5*k {
			return nil, fmt.Errorf("%w: varint index section of %d bytes cannot hold %d indices", ErrCorrupt, rawLen, k)
		}
		ib, err := zst.Decode(section, rawLen)
		if err != nil {
			return nil, err
		}
		idx := make([]uint32, k)
		pos, prev := 0, -1
		for j := range idx {
			g, n := binary.Uvarint(ib[pos:])
			if n <= 0 || g >= uint64(d) || uint64(prev+1)+g >= uint64(d) {
				return nil, fmt.Errorf("%w: index %d is malformed or beyond dimension %d", ErrCorrupt, j, d)
			}
			pos += n
			prev += 1 + int(g)
			idx[j] = uint32(prev)
		}
		if pos != len(ib) {
			return nil, fmt.Errorf("%w: %d trailing bytes after %d indices", ErrCorrupt, len(ib)-pos, k)
		}
		return idx, nil
	}
	return nil, fmt.Errorf("%w: unknown index coder %d", ErrCorrupt, coder)
}

// appendValues compresses a value section: float32 and bf16 values with
// zstd, quantization codes with Huffman coding alone (internal/ent).
func appendValues(dst, raw []byte, bits int) []byte {
	if bits <= 8 {
		return ent.Append(dst, raw)
	}
	return zst.Append(dst, raw)
}

func decodeValueSection(src []byte, n, bits int) ([]byte, error) {
	if bits <= 8 {
		return ent.Decode(src, n)
	}
	return zst.Decode(src, n)
}

// valuesLen is the raw size of a value section, or -1 for bad parameters.
func valuesLen(n, bits, bucket int) int {
	switch {
	case bits == 32:
		return 4 * n
	case bits == 16:
		return 2 * n
	case bits >= 2 && bits <= 8 && bucket >= 1 && bucket <= 1<<20:
		return 4*quant.Buckets(n, bucket) + n
	}
	return -1
}

// decodeValues decodes a value section of n values into out.
func decodeValues(out []float32, raw []byte, bits, bucket int) error {
	n := len(out)
	switch bits {
	case 32:
		for i := range out {
			v := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			if !quant.Finite(v) {
				return fmt.Errorf("%w: value %d is %v", ErrCorrupt, i, v)
			}
			out[i] = v
		}
	case 16:
		for i := range out {
			v := quant.FromBF16(binary.LittleEndian.Uint16(raw[2*i:]))
			if !quant.Finite(v) {
				return fmt.Errorf("%w: value %d is %v", ErrCorrupt, i, v)
			}
			out[i] = v
		}
	default:
		nb := quant.Buckets(n, bucket)
		scales := make([]float32, nb)
		for i := range scales {
			s := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			if !quant.Finite(s) || s < 0 {
				return fmt.Errorf("%w: scale %d is %v", ErrCorrupt, i, s)
			}
			scales[i] = s
		}
		if i := quant.Dequantize(out, raw[4*nb:], scales, bits, bucket); i >= 0 {
			return fmt.Errorf("%w: code %d of value %d exceeds %d-bit levels", ErrCorrupt, raw[4*nb+i], i, bits)
		}
	}
	return nil
}

func decodeTopK(dst []float32, h frame.Header, payload []byte, w float32, add bool) error {
	if h.CodecVersion != 1 || h.Flags != 0 {
		return fmt.Errorf("%w: topk version %d flags %#x unsupported", ErrCorrupt, h.CodecVersion, h.Flags)
	}
	p := frame.NewReader(h.Params)
	k, bits, bucket := int(p.U32()), int(p.U8()), int(p.U32())
	coder, rk, il, rawLen := p.U8(), int(p.U8()), int(p.U32()), int(p.U32())
	if err := p.Err(); err != nil {
		return err
	}
	d := len(dst)
	if k > d {
		return fmt.Errorf("%w: topk keeps %d of %d coordinates", ErrCorrupt, k, d)
	}
	vl := valuesLen(k, bits, bucket)
	if vl < 0 {
		return fmt.Errorf("%w: topk bits %d bucket %d unsupported", ErrCorrupt, bits, bucket)
	}
	if il > len(payload) {
		return fmt.Errorf("%w: index section length %d overruns the %d-byte payload", ErrCorrupt, il, len(payload))
	}
	// Validate every index before touching dst, so a bad blob changes nothing.
	idx, err := decodeIndices(payload[:il], coder, rk, rawLen, k, d)
	if err != nil {
		return fmt.Errorf("topk indices: %w", err)
	}
	vb, err := decodeValueSection(payload[il:], vl, bits)
	if err != nil {
		return fmt.Errorf("topk values: %w", err)
	}
	vals := make([]float32, k)
	if err := decodeValues(vals, vb, bits, bucket); err != nil {
		return err
	}
	if !add {
		clear(dst)
	}
	for j, i := range idx {
		dst[i] += w * vals[j]
	}
	return nil
}

func decodeQSGD(dst []float32, h frame.Header, payload []byte, w float32, add bool) error {
	if h.CodecVersion != 1 || h.Flags != 0 {
		return fmt.Errorf("%w: qsgd version %d flags %#x unsupported", ErrCorrupt, h.CodecVersion, h.Flags)
	}
	p := frame.NewReader(h.Params)
	bits, bucket := int(p.U8()), int(p.U32())
	if err := p.Err(); err != nil {
		return err
	}
	if bits < 2 || bits > 8 {
		return fmt.Errorf("%w: qsgd bits %d (want 2..8)", ErrCorrupt, bits)
	}
	vl := valuesLen(len(dst), bits, bucket)
	if vl < 0 {
		return fmt.Errorf("%w: qsgd bucket %d out of range", ErrCorrupt, bucket)
	}
	vb, err := decodeValueSection(payload, vl, bits)
	if err != nil {
		return fmt.Errorf("qsgd values: %w", err)
	}
	if !add {
		return decodeValues(dst, vb, bits, bucket)
	}
	vals := make([]float32, len(dst))
	if err := decodeValues(vals, vb, bits, bucket); err != nil {
		return err
	}
	for i, v := range vals {
		dst[i] += w * v
	}
	return nil
}
