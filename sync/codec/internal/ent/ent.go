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
package ent

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/klauspost/compress/huff0"
	"github.com/murmur-fl/murmur/sync/codec/internal/frame"
)

// ErrCorrupt is wrapped by every decode error.
// It wraps frame.ErrCorrupt, so callers test one sentinel (codec.ErrCorrupt).
var ErrCorrupt = fmt.Errorf("%w: entropy-coded section", frame.ErrCorrupt)

const chunk = 64 << 10

const (
	modeRaw  = 0
	modeRLE  = 1
	modeHuff = 2
)

// Append appends the coded form of src to dst.
func Append(dst, src []byte) []byte {
	var s huff0.Scratch
	s.Reuse = huff0.ReusePolicyNone // chunks stand alone
	for o := 0; o < len(src); o += chunk {
		c := src[o:min(o+chunk, len(src))]
		out, _, err := huff0.Compress4X(c, &s)
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

// Decode decodes exactly n bytes from src, which must hold nothing more.
func Decode(src []byte, n int) ([]byte, error) {
	out := make([]byte, 0, n)
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
		default:
			return nil, fmt.Errorf("%w: unknown chunk mode %d", ErrCorrupt, mode)
		}
	}
	if len(src) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(src))
	}
	return out, nil
}
