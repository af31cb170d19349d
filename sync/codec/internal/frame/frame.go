// Package frame is the self-describing envelope around every codec blob:
// magic, format version, codec id and version, flags, dimension, seed,
// optional tensor shapes, codec parameters, payload, and a CRC-32C over all
// of it. Parse validates lengths before it slices or allocates anything, so a
// hostile blob costs at most its own size.
//
// Layout (all integers little-endian):
//
//	0   "MRC"                 magic
//	3   u8   format version   (1)
//	4   u8   codec id
//	5   u8   codec version
//	6   u16  flags            (codec-specific; unknown bits rejected by the codec)
//	8   u32  dim              (coordinates in the decoded vector)
//	12  u64  seed             (shared round seed; 0 when unused)
//	20  u8   shape count      (0 = a flat vector)
//	    per shape: u8 rank (1..8), rank × u32 dims (each >= 1)
//	    u16  params length, params bytes
//	    u32  payload length, payload bytes
//	    u32  CRC-32C (Castagnoli) of every byte before it
package frame

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Version is the only format version this package writes and reads.
const Version = 1

// Limits on the header, fixed by the format.
const (
	MaxShapes = 64
	MaxRank   = 8
	fixedLen  = 21 // magic .. shape count
	crcLen    = 4
)

var magic = [3]byte{'M', 'R', 'C'}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt is wrapped by every error that means the blob is not a valid
// frame (truncated, mislabelled, bad checksum, inconsistent lengths).
var ErrCorrupt = errors.New("codec: corrupt blob")

// Header is the decoded envelope, minus the payload.
type Header struct {
	Codec        uint8
	CodecVersion uint8
	Flags        uint16
	Dim          uint32
	Seed         uint64
	Shapes       [][]uint32 // nil for a flat vector
	Params       []byte     // codec parameters (aliases the blob after Parse)
}

// Append writes h and payload as a frame after dst and returns the extended
// slice. It returns an error only for a header the format cannot express.
func Append(dst []byte, h *Header, payload []byte) ([]byte, error) {
	return AppendPieces(dst, h, len(payload), func(p []byte, sum func([]byte)) {
		// Copy and checksum piece by piece, while each piece is in cache
		// (a checksum pass over a large, just-copied blob reads it back
		// from memory: 4x slower than over cached bytes here).
		for o := 0; o < len(p); o += sumPiece {
			e := min(o+sumPiece, len(p))
			copy(p[o:e], payload[o:e])
			sum(p[o:e])
		}
	})
}

// sumPiece is how many payload bytes are written before they are
// checksummed (well inside L2).
const sumPiece = 32 << 10

// AppendFunc is Append for a payload of n bytes that fill writes in place
// (into the frame, so a large payload is neither built nor copied
// separately). fill must write all n bytes.
func AppendFunc(dst []byte, h *Header, n int, fill func(payload []byte)) ([]byte, error) {
	return AppendPieces(dst, h, n, func(p []byte, sum func([]byte)) {
		fill(p)
		sum(p)
	})
}

// AppendPieces is AppendFunc where fill also checksums what it wrote: it
// must call sum on consecutive pieces of the payload, in order, covering
// all n bytes, each after writing it (while it is in cache).
func AppendPieces(dst []byte, h *Header, n int, fill func(payload []byte, sum func(piece []byte))) ([]byte, error) {
	if err := checkShapes(h.Shapes, h.Dim); err != nil {
		return dst, err
	}
	if len(h.Params) > 0xFFFF {
		return dst, fmt.Errorf("codec: params too long (%d bytes)", len(h.Params))
	}
	if uint64(n) > 0xFFFFFFFF {
		return dst, fmt.Errorf("codec: payload too long (%d bytes)", n)
	}
	if need := len(dst) + Overhead(h.Shapes) + len(h.Params) + n; cap(dst) < need {
		dst = append(make([]byte, 0, need), dst...)
	}
	start := len(dst)
	dst = append(dst, magic[:]...)
	dst = append(dst, Version, h.Codec, h.CodecVersion)
	dst = binary.LittleEndian.AppendUint16(dst, h.Flags)
	dst = binary.LittleEndian.AppendUint32(dst, h.Dim)
	dst = binary.LittleEndian.AppendUint64(dst, h.Seed)
	dst = append(dst, uint8(len(h.Shapes)))
	for _, s := range h.Shapes {
		dst = append(dst, uint8(len(s)))
		for _, d := range s {
			dst = binary.LittleEndian.AppendUint32(dst, d)
		}
	}
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(h.Params)))
	dst = append(dst, h.Params...)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
	crc := crc32.Checksum(dst[start:], castagnoli)
	dst = dst[:len(dst)+n]
	payload := dst[len(dst)-n:]
	next := 0 // the pieces must cover the payload in order
	fill(payload, func(piece []byte) {
		if len(piece) > 0 && &piece[0] != &payload[next] {
			panic("frame: AppendPieces: pieces out of order")
		}
		next += len(piece)
		crc = crc32.Update(crc, castagnoli, piece)
	})
	if next != n {
		panic(fmt.Sprintf("frame: AppendPieces: pieces cover %d of %d payload bytes", next, n))
	}
	return binary.LittleEndian.AppendUint32(dst, crc), nil
}

// Overhead returns the frame size without params and payload, for a header
// with the given shapes.
func Overhead(shapes [][]uint32) int {
	n := fixedLen + 2 + 4 + crcLen
	for _, s := range shapes {
		n += 1 + 4*len(s)
	}
	return n
}

// Parse validates blob as one complete frame and returns its header and
// payload (both aliasing blob). maxDim bounds the declared dimension.
func Parse(blob []byte, maxDim uint32) (Header, []byte, error) {
	var h Header
	if len(blob) < fixedLen+2+4+crcLen {
		return h, nil, fmt.Errorf("%w: %d bytes is shorter than the smallest frame", ErrCorrupt, len(blob))
	}
	if [3]byte(blob[:3]) != magic {
		return h, nil, fmt.Errorf("%w: bad magic %q", ErrCorrupt, blob[:3])
	}
	if blob[3] != Version {
		return h, nil, fmt.Errorf("%w: format version %d (this build reads %d)", ErrCorrupt, blob[3], Version)
	}
	// The checksum first: everything after it can trust the bytes were
	// written by an encoder, though not that the encoder was honest.
	body, sum := blob[:len(blob)-crcLen], binary.LittleEndian.Uint32(blob[len(blob)-crcLen:])
	if got := crc32.Checksum(body, castagnoli); got != sum {
		return h, nil, fmt.Errorf("%w: checksum mismatch (stored %08x, computed %08x)", ErrCorrupt, sum, got)
	}
	h.Codec, h.CodecVersion = blob[4], blob[5]
	h.Flags = binary.LittleEndian.Uint16(blob[6:])
	h.Dim = binary.LittleEndian.Uint32(blob[8:])
	h.Seed = binary.LittleEndian.Uint64(blob[12:])
	if h.Dim > maxDim {
		return h, nil, fmt.Errorf("%w: dimension %d exceeds the limit %d", ErrCorrupt, h.Dim, maxDim)
	}
	r := body[fixedLen:]
	ns := int(body[20])
	if ns > MaxShapes {
		return h, nil, fmt.Errorf("%w: %d shapes (max %d)", ErrCorrupt, ns, MaxShapes)
	}
	if ns > 0 {
		h.Shapes = make([][]uint32, 0, ns)
	}
	for i := 0; i < ns; i++ {
		if len(r) < 1 {
			return h, nil, fmt.Errorf("%w: truncated in shape %d", ErrCorrupt, i)
		}
		rank := int(r[0])
		if rank < 1 || rank > MaxRank {
			return h, nil, fmt.Errorf("%w: shape %d has rank %d (want 1..%d)", ErrCorrupt, i, rank, MaxRank)
		}
		if len(r) < 1+4*rank {
			return h, nil, fmt.Errorf("%w: truncated in shape %d", ErrCorrupt, i)
		}
		s := make([]uint32, rank)
		for j := range s {
			s[j] = binary.LittleEndian.Uint32(r[1+4*j:])
		}
		h.Shapes = append(h.Shapes, s)
		r = r[1+4*rank:]
	}
	if err := checkShapes(h.Shapes, h.Dim); err != nil {
		return h, nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if len(r) < 2 {
		return h, nil, fmt.Errorf("%w: truncated before params length", ErrCorrupt)
	}
	np := int(binary.LittleEndian.Uint16(r))
	r = r[2:]
	if len(r) < np+4 {
		return h, nil, fmt.Errorf("%w: params length %d overruns the blob", ErrCorrupt, np)
	}
	h.Params = r[:np:np]
	r = r[np:]
	pl := uint64(binary.LittleEndian.Uint32(r))
	r = r[4:]
	if pl != uint64(len(r)) {
		return h, nil, fmt.Errorf("%w: payload length %d but %d bytes remain", ErrCorrupt, pl, len(r))
	}
	return h, r[:len(r):len(r)], nil
}

func checkShapes(shapes [][]uint32, dim uint32) error {
	if len(shapes) == 0 {
		return nil
	}
	if len(shapes) > MaxShapes {
		return fmt.Errorf("codec: %d shapes (max %d)", len(shapes), MaxShapes)
	}
	var total uint64
	for i, s := range shapes {
		if len(s) < 1 || len(s) > MaxRank {
			return fmt.Errorf("codec: shape %d has rank %d (want 1..%d)", i, len(s), MaxRank)
		}
		n := uint64(1)
		for _, d := range s {
			if d == 0 {
				return fmt.Errorf("codec: shape %d has a zero dimension", i)
			}
			n *= uint64(d)
			if n > uint64(dim) {
				return fmt.Errorf("codec: shapes hold more than dim=%d elements", dim)
			}
		}
		total += n
		if total > uint64(dim) {
			return fmt.Errorf("codec: shapes hold more than dim=%d elements", dim)
		}
	}
	if total != uint64(dim) {
		return fmt.Errorf("codec: shapes hold %d elements but dim is %d", total, dim)
	}
	return nil
}

// Reader reads fixed-width little-endian fields from codec params with a
// sticky error, so decoders check once at the end.
type Reader struct {
	b   []byte
	err error
}

// NewReader reads from b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

func (r *Reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.err = fmt.Errorf("%w: params truncated", ErrCorrupt)
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// U8 reads one byte.
func (r *Reader) U8() uint8 {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

// U32 reads a uint32.
func (r *Reader) U32() uint32 {
	if b := r.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

// U64 reads a uint64.
func (r *Reader) U64() uint64 {
	if b := r.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// Err returns the first error, or one saying params had trailing bytes.
func (r *Reader) Err() error {
	if r.err == nil && len(r.b) != 0 {
		return fmt.Errorf("%w: %d unexpected trailing param bytes", ErrCorrupt, len(r.b))
	}
	return r.err
}
