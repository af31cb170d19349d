// Package wire defines the murmur sync protocol: versioned binary frames,
// the message types carried in them, and the error codes. The normative
// description is sync/PROTOCOL.md; this package is its only implementation,
// shared by the relay and the client (native and js/wasm).
//
// Every decoder here reads untrusted input: lengths are checked against caps
// before anything is allocated, and errors name the field that was wrong.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Version is the frame format version this package speaks.
const Version = 1

// Protocol is the protocol version a device states in Hello; a relay
// refuses any other (CodeBadVersion), so devices and relays that could not
// understand each other's messages or blobs never start a session. 2: the
// relay may send model deltas as sync/codec download version 3 or 4 and
// plans default to the secure codec's version 3.
const Protocol = 2

// Frame flags.
const (
	// FlagZstd marks a payload compressed with zstd; the size limit applies
	// to the decompressed bytes.
	FlagZstd   = 1 << 0
	knownFlags = FlagZstd
)

// Default caps. A relay or client may lower them with Limits.
const (
	// DefaultMaxFrame bounds one frame on the wire (header + payload) and
	// one decompressed payload. Update and model chunks are far smaller.
	DefaultMaxFrame = 4 << 20
	// maxHeader is version + type + flags + a 10-byte uvarint.
	maxHeader = 3 + binary.MaxVarintLen64
)

// Sentinel errors; decoding errors wrap one of them.
var (
	ErrShortFrame   = errors.New("wire: frame shorter than its header")
	ErrVersion      = errors.New("wire: unsupported frame version")
	ErrUnknownType  = errors.New("wire: unknown message type")
	ErrFlags        = errors.New("wire: unknown frame flags")
	ErrLength       = errors.New("wire: frame length does not match its header")
	ErrTooLarge     = errors.New("wire: frame exceeds the size limit")
	ErrDecompress   = errors.New("wire: bad compressed payload")
	ErrMalformed    = errors.New("wire: malformed message")
	ErrTrailingData = errors.New("wire: trailing bytes after message")
)

// Frame is one decoded frame: a message type and its (decompressed) payload.
type Frame struct {
	Type    Type
	Flags   uint8
	Payload []byte
}

// AppendFrame appends the frame for (t, payload) to dst. With compress set
// the payload is zstd-compressed when that makes it smaller.
func AppendFrame(dst []byte, t Type, payload []byte, compress bool) []byte {
	flags := uint8(0)
	if compress && len(payload) > 256 {
		c := encoder.EncodeAll(payload, nil)
		if len(c) < len(payload) {
			payload, flags = c, FlagZstd
		}
	}
	dst = append(dst, Version, byte(t), flags)
	dst = binary.AppendUvarint(dst, uint64(len(payload)))
	return append(dst, payload...)
}

// DecodeFrame parses one frame from b. maxSize (<= 0 means DefaultMaxFrame)
// bounds both the frame and the decompressed payload; it is checked against
// the header before any allocation. The returned payload aliases b unless it
// was decompressed.
func DecodeFrame(b []byte, maxSize int) (Frame, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxFrame
	}
	if len(b) > maxSize+maxHeader {
		return Frame{}, fmt.Errorf("%w: %d bytes > %d", ErrTooLarge, len(b), maxSize)
	}
	if len(b) < 4 {
		return Frame{}, fmt.Errorf("%w: %d bytes", ErrShortFrame, len(b))
	}
	if b[0] != Version {
		return Frame{}, fmt.Errorf("%w: %d (want %d)", ErrVersion, b[0], Version)
	}
	t := Type(b[1])
	if !t.Known() {
		return Frame{}, fmt.Errorf("%w: %d", ErrUnknownType, b[1])
	}
	flags := b[2]
	if flags&^knownFlags != 0 {
		return Frame{}, fmt.Errorf("%w: %#x", ErrFlags, flags)
	}
	n, k := binary.Uvarint(b[3:])
	if k <= 0 {
		return Frame{}, fmt.Errorf("%w: bad length varint", ErrMalformed)
	}
	if n > uint64(maxSize) {
		return Frame{}, fmt.Errorf("%w: header claims %d bytes > %d", ErrTooLarge, n, maxSize)
	}
	rest := b[3+k:]
	if uint64(len(rest)) != n {
		return Frame{}, fmt.Errorf("%w: header says %d, have %d", ErrLength, n, len(rest))
	}
	f := Frame{Type: t, Flags: flags, Payload: rest}
	if flags&FlagZstd != 0 {
		p, err := decompress(rest, maxSize)
		if err != nil {
			return Frame{}, err
		}
		f.Payload = p
	}
	return f, nil
}

var encoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))

// decompress inflates p, refusing output over max: the decoder's memory cap
// makes a decompression bomb fail before it allocates its claimed size.
func decompress(p []byte, max int) ([]byte, error) {
	d, err := decoderFor(max)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecompress, err)
	}
	out, err := d.DecodeAll(p, nil)
	if err != nil {
		if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrFrameSizeExceeded) {
			return nil, fmt.Errorf("%w: decompressed payload over %d bytes", ErrTooLarge, max)
		}
		return nil, fmt.Errorf("%w: %v", ErrDecompress, err)
	}
	if len(out) > max {
		return nil, fmt.Errorf("%w: decompressed payload %d bytes > %d", ErrTooLarge, len(out), max)
	}
	return out, nil
}

var (
	decMu    sync.Mutex
	decoders = map[int]*zstd.Decoder{}
)

// decoderFor returns a shared decoder capped at max bytes (DecodeAll is safe
// for concurrent use); a process uses only a handful of distinct caps.
func decoderFor(limit int) (*zstd.Decoder, error) {
	decMu.Lock()
	defer decMu.Unlock()
	if d, ok := decoders[limit]; ok {
		return d, nil
	}
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(uint64(limit)), zstd.WithDecoderMaxWindow(uint64(max(limit, zstd.MinWindowSize))))
	if err != nil {
		return nil, err
	}
	if len(decoders) < 16 {
		decoders[limit] = d
	}
	return d, nil
}
