package wire

import (
	"encoding/binary"
	"fmt"
)

// enc appends fields in the protocol's encoding: fixed-width big-endian
// integers, and byte strings as a uvarint length followed by the bytes.
type enc struct{ b []byte }

func (e *enc) u8(v uint8)     { e.b = append(e.b, v) }
func (e *enc) u16(v uint16)   { e.b = binary.BigEndian.AppendUint16(e.b, v) }
func (e *enc) u32(v uint32)   { e.b = binary.BigEndian.AppendUint32(e.b, v) }
func (e *enc) u64(v uint64)   { e.b = binary.BigEndian.AppendUint64(e.b, v) }
func (e *enc) i64(v int64)    { e.u64(uint64(v)) }
func (e *enc) fixed(v []byte) { e.b = append(e.b, v...) }
func (e *enc) bytes(v []byte) {
	e.b = binary.AppendUvarint(e.b, uint64(len(v)))
	e.b = append(e.b, v...)
}
func (e *enc) str(v string) { e.bytes([]byte(v)) }
func (e *enc) bool(v bool) {
	if v {
		e.u8(1)
	} else {
		e.u8(0)
	}
}

// dec reads fields with a sticky error that names the first bad field.
type dec struct {
	b   []byte
	err error
}

func (d *dec) fail(field, why string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s: %s", ErrMalformed, field, why)
	}
}

func (d *dec) take(field string, n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || len(d.b) < n {
		d.fail(field, fmt.Sprintf("need %d bytes, have %d", n, len(d.b)))
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) u8(f string) uint8 {
	if v := d.take(f, 1); v != nil {
		return v[0]
	}
	return 0
}
func (d *dec) u16(f string) uint16 {
	if v := d.take(f, 2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}
func (d *dec) u32(f string) uint32 {
	if v := d.take(f, 4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}
func (d *dec) u64(f string) uint64 {
	if v := d.take(f, 8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}
func (d *dec) i64(f string) int64 { return int64(d.u64(f)) }
func (d *dec) bool(f string) bool {
	switch d.u8(f) {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail(f, "boolean is neither 0 nor 1")
		return false
	}
}
func (d *dec) fixed(f string, dst []byte) { copy(dst, d.take(f, len(dst))) }

// bytes reads a length-prefixed byte string of at most max bytes. The
// result is a copy, so messages never alias a reused read buffer.
func (d *dec) bytes(f string, max int) []byte {
	if d.err != nil {
		return nil
	}
	n, k := binary.Uvarint(d.b)
	if k <= 0 {
		d.fail(f, "bad length varint")
		return nil
	}
	if n > uint64(max) {
		d.fail(f, fmt.Sprintf("length %d exceeds limit %d", n, max))
		return nil
	}
	d.b = d.b[k:]
	v := d.take(f, int(n))
	if v == nil {
		return nil
	}
	return append([]byte(nil), v...)
}
func (d *dec) str(f string, max int) string { return string(d.bytes(f, max)) }

func (d *dec) done() error {
	if d.err == nil && len(d.b) != 0 {
		return fmt.Errorf("%w: %d bytes", ErrTrailingData, len(d.b))
	}
	return d.err
}
