// Package data loads training data for the murmur core: Fashion-MNIST from
// IDX files, a word-level next-word corpus from the fortunes texts, seeded
// shuffled batching, and the partitioners that split a data set over
// simulated devices (IID, Dirichlet by label, by source).
//
// Everything here is pure Go and builds for wasip1/wasm and js/wasm. Data is
// handed out as plain slices (float32 batch-major features, int32 labels and
// token ids) so that other packages can wrap them without copying.
package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxIDXBytes caps the payload of one IDX file (1 GiB). Headers that
// promise more are rejected before anything is allocated.
const MaxIDXBytes = 1 << 30

// maxIDXDims caps the number of dimensions an IDX header may declare.
const maxIDXDims = 8

// ErrIDX is wrapped by every error about a malformed IDX file.
var ErrIDX = errors.New("invalid IDX file")

// IDX is a decoded IDX file of unsigned bytes: the shape from its header and
// the raw values, row-major.
type IDX struct {
	Dims []int
	Data []byte
}

var idxTypeNames = map[byte]string{
	0x08: "unsigned byte", 0x09: "signed byte", 0x0B: "int16",
	0x0C: "int32", 0x0D: "float32", 0x0E: "float64",
}

// ReadIDX decodes an IDX stream, gzip-compressed or not (detected from the
// gzip magic bytes, not the name). name is only used in error messages. Only
// the unsigned-byte element type (0x08) is accepted, which is what the MNIST
// family uses. The header is validated before allocating, and the payload
// buffer grows only as data actually arrives, so a lying header cannot make
// it allocate more than twice the real input.
func ReadIDX(r io.Reader, name string) (*IDX, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var src io.Reader = br
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w %s: bad gzip stream: %v", ErrIDX, name, err)
		}
		defer zr.Close()
		src = zr
	}
	var head [4]byte
	if _, err := io.ReadFull(src, head[:]); err != nil {
		return nil, fmt.Errorf("%w %s: reading magic number: %v", ErrIDX, name, unexpected(err))
	}
	if head[0] != 0 || head[1] != 0 {
		return nil, fmt.Errorf("%w %s: magic number %#02x%02x%02x%02x does not start with two zero bytes (not an IDX file?)",
			ErrIDX, name, head[0], head[1], head[2], head[3])
	}
	if head[2] != 0x08 {
		tn, ok := idxTypeNames[head[2]]
		if !ok {
			return nil, fmt.Errorf("%w %s: unknown element type %#02x", ErrIDX, name, head[2])
		}
		return nil, fmt.Errorf("%w %s: element type %#02x (%s) is not supported; only unsigned byte (0x08)", ErrIDX, name, head[2], tn)
	}
	nd := int(head[3])
	if nd < 1 || nd > maxIDXDims {
		return nil, fmt.Errorf("%w %s: %d dimensions; want 1 to %d", ErrIDX, name, nd, maxIDXDims)
	}
	var db [4 * maxIDXDims]byte
	if _, err := io.ReadFull(src, db[:4*nd]); err != nil {
		return nil, fmt.Errorf("%w %s: reading %d dimension sizes: %v", ErrIDX, name, nd, unexpected(err))
	}
	dims := make([]int, nd)
	size := uint64(1)
	for i := range dims {
		d := binary.BigEndian.Uint32(db[4*i:])
		dims[i] = int(d)
		size *= uint64(d) // at most 2^30 * 2^32 before the check below trips
		if size > MaxIDXBytes {
			return nil, fmt.Errorf("%w %s: dimensions %v (so far) need more than the %d-byte limit", ErrIDX, name, dims[:i+1], MaxIDXBytes)
		}
	}
	data, err := readExactly(src, int(size))
	if err != nil {
		return nil, fmt.Errorf("%w %s: dimensions %v promise %d data bytes: %v", ErrIDX, name, dims, size, err)
	}
	return &IDX{Dims: dims, Data: data}, nil
}

// ReadIDXFile opens and decodes an IDX file (plain or .gz).
func ReadIDXFile(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadIDX(f, path)
}

// readExactly reads n bytes and then requires end of input. The buffer
// grows geometrically from a small start, so memory tracks the bytes that
// really arrive rather than the n a header claims.
func readExactly(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, 0, min(n, 1<<20))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			nb := make([]byte, len(buf), min(n, 2*cap(buf)))
			copy(nb, buf)
			buf = nb
		}
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			if len(buf) < n {
				return nil, fmt.Errorf("truncated: got only %d", len(buf))
			}
			break
		}
		if err != nil {
			return nil, err
		}
	}
	var one [1]byte
	for {
		m, err := r.Read(one[:])
		if m > 0 {
			return nil, errors.New("trailing data after the last value")
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
