// Package zst wraps klauspost/compress/zstd for codec payload sections:
// shared single-goroutine-friendly encoder and decoder, and a strict decode
// that needs the exact decompressed size up front, so a zstd bomb cannot make
// the decoder allocate more than the caller already agreed to.
package zst

import (
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/murmur-fl/murmur/sync/codec/internal/frame"
)

// ErrCorrupt is wrapped by every decode error.
// It wraps frame.ErrCorrupt, so callers test one sentinel (codec.ErrCorrupt).
var ErrCorrupt = fmt.Errorf("%w: zstd section", frame.ErrCorrupt)

var (
	encOnce sync.Once
	enc     *zstd.Encoder
	decOnce sync.Once
	dec     *zstd.Decoder
	initErr error
)

func encoder() *zstd.Encoder {
	encOnce.Do(func() {
		// EncodeAll is safe for concurrent use; concurrency 1 keeps the
		// browser build single-threaded and memory small.
		enc, initErr = zstd.NewWriter(nil,
			zstd.WithEncoderConcurrency(1),
			zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithEncoderCRC(false), // the frame has its own CRC-32C
			zstd.WithLowerEncoderMem(true),
			// Single segment: the header always carries the content size,
			// which Decode insists on (even under 256 bytes).
			zstd.WithSingleSegment(true),
		)
	})
	if enc == nil {
		panic("zst: encoder init: " + initErr.Error()) // static options; cannot fail
	}
	return enc
}

func decoder() *zstd.Decoder {
	decOnce.Do(func() {
		var err error
		dec, err = zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecodeAllCapLimit(true),
			// A single-segment frame's window is its content size, which
			// Decode has already checked against the caller's bound.
			zstd.WithDecoderMaxWindow(1<<31),
			zstd.WithDecoderLowmem(true),
		)
		if err != nil {
			panic("zst: decoder init: " + err.Error())
		}
	})
	return dec
}

// Append compresses src as one zstd frame (with its content size in the
// header) after dst.
func Append(dst, src []byte) []byte {
	return encoder().EncodeAll(src, dst)
}

// Decode decompresses src, which must be exactly one zstd frame declaring
// exactly want bytes of content. At most want bytes are allocated.
func Decode(src []byte, want int) ([]byte, error) {
	if want == 0 && len(src) == 0 {
		return nil, nil // Append writes nothing for empty input
	}
	return AppendDecode(make([]byte, 0, want), src, want)
}

// AppendDecode is Decode appending the want bytes to dst. When dst has
// room for them they are written in place (no allocation).
func AppendDecode(dst, src []byte, want int) ([]byte, error) {
	if want == 0 && len(src) == 0 {
		return dst, nil
	}
	var h zstd.Header
	if err := h.Decode(src); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if h.Skippable || !h.HasFCS {
		return nil, fmt.Errorf("%w: frame does not declare its content size", ErrCorrupt)
	}
	if h.FrameContentSize != uint64(want) {
		return nil, fmt.Errorf("%w: declares %d bytes, want %d", ErrCorrupt, h.FrameContentSize, want)
	}
	o := len(dst)
	if cap(dst)-o < want {
		dst = append(make([]byte, 0, o+want), dst...)
	}
	// The cap limit (WithDecodeAllCapLimit) bounds the output to want.
	out, err := decoder().DecodeAll(src, dst[o:o:o+want])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if len(out) != want {
		return nil, fmt.Errorf("%w: decoded %d bytes, want %d", ErrCorrupt, len(out), want)
	}
	dst = dst[:o+want]
	if want > 0 && &out[0] != &dst[o] { // not in place after all
		copy(dst[o:], out)
	}
	return dst, nil
}
