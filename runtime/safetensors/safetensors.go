// Package safetensors reads and writes named float32 tensors in the Hugging
// Face safetensors format, so murmur weights move to and from PyTorch,
// JAX and other tools.
//
// A file is an 8-byte little-endian header length N, N bytes of JSON
//
//	{"__metadata__": {"k": "v"}, "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, ...}
//
// padded with spaces to a multiple of 8, then the raw little-endian tensor
// bytes; offsets are relative to the end of the header. Write produces the
// same bytes as the reference implementation (tensors sorted by name,
// compact JSON, "__metadata__" first, space padding). Read accepts F32, F16
// and BF16 tensors, converting to float32, and checks everything the
// reference checks and a little more: a header that lies about sizes,
// offsets that overlap, leave gaps or do not reach the end of the file,
// shapes that do not match their byte length, unknown dtypes and duplicate
// names are all errors, and no allocation is larger than a small multiple
// of the input.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"slices"
	"strconv"
	"unicode/utf8"
)

// MaxHeaderSize is the largest JSON header accepted, as in the reference
// implementation (100 MB).
const MaxHeaderSize = 100_000_000

// ErrFormat is wrapped by every error about a malformed file.
var ErrFormat = errors.New("safetensors")

// Tensor is a named float32 tensor, row-major ("C" order). Data may alias
// a slice of a larger buffer (such as a model's flat parameter vector):
// Write only reads it.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

const metadataKey = "__metadata__"

// Write writes tensors and metadata (nil or empty for none) as a safetensors
// file with dtype F32. The output is deterministic: tensors are sorted by
// name and metadata keys are sorted.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	header, order, err := encodeHeader(tensors, metadata)
	if err != nil {
		return err
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(header); err != nil {
		return err
	}
	buf := make([]byte, 0, 64<<10)
	for _, i := range order {
		for _, v := range tensors[i].Data {
			if len(buf) == cap(buf) {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
	}
	_, err = w.Write(buf)
	return err
}

// Marshal returns the safetensors encoding of tensors and metadata.
func Marshal(tensors []Tensor, metadata map[string]string) ([]byte, error) {
	var b bytes.Buffer
	if err := Write(&b, tensors, metadata); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// WriteFile writes a safetensors file at path.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) error {
	b, err := Marshal(tensors, metadata)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// encodeHeader validates tensors and returns the padded JSON header and
// the write order (indices into tensors, sorted by name).
func encodeHeader(tensors []Tensor, metadata map[string]string) ([]byte, []int, error) {
	order := make([]int, len(tensors))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmpString(tensors[a].Name, tensors[b].Name)
	})
	for k, i := range order {
		t := &tensors[i]
		if !utf8.ValidString(t.Name) {
			return nil, nil, fmt.Errorf("safetensors: tensor name %q is not valid UTF-8", t.Name)
		}
		if t.Name == metadataKey {
			return nil, nil, fmt.Errorf("safetensors: a tensor may not be named %q", metadataKey)
		}
		if k > 0 && tensors[order[k-1]].Name == t.Name {
			return nil, nil, fmt.Errorf("safetensors: two tensors are named %q", t.Name)
		}
		n, ok := numElements(t.Shape)
		if !ok {
			return nil, nil, fmt.Errorf("safetensors: tensor %q has invalid shape %v", t.Name, t.Shape)
		}
		if n != uint64(len(t.Data)) {
			return nil, nil, fmt.Errorf("safetensors: tensor %q has shape %v (%d values) but %d values of data", t.Name, t.Shape, n, len(t.Data))
		}
	}
	h := []byte{'{'}
	if len(metadata) > 0 {
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			if !utf8.ValidString(k) || !utf8.ValidString(metadata[k]) {
				return nil, nil, fmt.Errorf("safetensors: metadata %q is not valid UTF-8", k)
			}
			keys = append(keys, k)
		}
		slices.Sort(keys)
		h = appendJSONString(h, metadataKey)
		h = append(h, ":{"...)
		for i, k := range keys {
			if i > 0 {
				h = append(h, ',')
			}
			h = appendJSONString(h, k)
			h = append(h, ':')
			h = appendJSONString(h, metadata[k])
		}
		h = append(h, '}')
	}
	off := uint64(0)
	for k, i := range order {
		t := &tensors[i]
		if k > 0 || len(metadata) > 0 {
			h = append(h, ',')
		}
		h = appendJSONString(h, t.Name)
		h = append(h, `:{"dtype":"F32","shape":[`...)
		for j, d := range t.Shape {
			if j > 0 {
				h = append(h, ',')
			}
			h = strconv.AppendInt(h, int64(d), 10)
		}
		end := off + 4*uint64(len(t.Data))
		h = append(h, `],"data_offsets":[`...)
		h = strconv.AppendUint(h, off, 10)
		h = append(h, ',')
		h = strconv.AppendUint(h, end, 10)
		h = append(h, "]}"...)
		off = end
	}
	h = append(h, '}')
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	if len(h) > MaxHeaderSize {
		return nil, nil, fmt.Errorf("safetensors: header of %d bytes exceeds the %d-byte limit", len(h), MaxHeaderSize)
	}
	return h, order, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// appendJSONString quotes s as serde_json does: escape the quote, the
// backslash and control characters, pass everything else through.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// numElements multiplies out a shape, reporting false for negative
// dimensions or overflow past 2^53.
func numElements(shape []int) (uint64, bool) {
	n := uint64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > 1<<53 {
			return 0, false
		}
		n = lo
	}
	return n, true
}
