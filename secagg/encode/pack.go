package encode

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrPacked reports a malformed bit-packed vector.
var ErrPacked = errors.New("encode: malformed packed vector")

// PackedLen is the byte length of n elements packed at bits bits each:
// ceil(n·bits/8).
func PackedLen(n, bits int) int { return (n*bits + 7) / 8 }

// Pack appends v packed at exactly bits (1..64) bits per element to dst.
// Layout: element i occupies bit positions i·bits .. i·bits+bits−1 of the
// output, least significant bit first, where bit position p is bit (p mod 8)
// of byte p/8. Unused high bits of the last byte are zero. Bits of an
// element above bits are ignored (the value is taken mod 2^bits).
func Pack(dst []byte, v []uint64, bits int) []byte {
	if bits < 1 || bits > 64 {
		panic(fmt.Sprintf("encode: Pack bits %d out of range 1..64", bits))
	}
	start := len(dst)
	n := PackedLen(len(v), bits)
	if cap(dst)-start < n {
		nd := make([]byte, start, start+n)
		copy(nd, dst)
		dst = nd
	}
	dst = dst[:start+n]
	w := bitWriter{out: dst[start:]}
	if bits <= 32 {
		m := modMask(bits)
		for _, x := range v {
			w.put(x&m, bits)
		}
	} else {
		m := modMask(bits - 32)
		for _, x := range v {
			w.put(x&0xFFFFFFFF, 32)
			w.put(x>>32&m, bits-32)
		}
	}
	w.flush()
	return dst
}

// bitWriter appends pieces of at most 32 bits, LSB first, 4 bytes at a time.
type bitWriter struct {
	out []byte
	j   int
	acc uint64 // pending bits
	n   int    // how many (< 32 between calls)
}

func (w *bitWriter) put(x uint64, k int) {
	w.acc |= x << uint(w.n)
	w.n += k
	if w.n >= 32 {
		binary.LittleEndian.PutUint32(w.out[w.j:], uint32(w.acc))
		w.j += 4
		w.acc >>= 32
		w.n -= 32
	}
}

func (w *bitWriter) flush() {
	for w.n > 0 {
		w.out[w.j] = byte(w.acc)
		w.j++
		w.acc >>= 8
		w.n -= 8
	}
}

// bitReader takes pieces of at most 32 bits; the caller has checked the
// length, so the bytes are there.
type bitReader struct {
	src []byte
	j   int
	acc uint64
	n   int
}

func (r *bitReader) get(k int) uint64 {
	if r.n < k {
		if r.j+4 <= len(r.src) {
			r.acc |= uint64(binary.LittleEndian.Uint32(r.src[r.j:])) << uint(r.n)
			r.j += 4
			r.n += 32
		} else {
			for r.n < k {
				r.acc |= uint64(r.src[r.j]) << uint(r.n)
				r.j++
				r.n += 8
			}
		}
	}
	v := r.acc & (1<<uint(k) - 1)
	r.acc >>= uint(k)
	r.n -= k
	return v
}

// Unpack decodes n elements of bits (1..64) bits each from src into dst
// (grown as needed). src must be exactly PackedLen(n, bits) bytes and its
// unused trailing bits must be zero, so every vector has one encoding.
func Unpack(dst []uint64, src []byte, n, bits int) ([]uint64, error) {
	if bits < 1 || bits > 64 {
		return nil, fmt.Errorf("%w: bits %d out of range 1..64", ErrPacked, bits)
	}
	if n < 0 || n > len(src)*8/bits+1 {
		return nil, fmt.Errorf("%w: %d elements of %d bits cannot fit in %d bytes", ErrPacked, n, bits, len(src))
	}
	if want := PackedLen(n, bits); len(src) != want {
		return nil, fmt.Errorf("%w: %d bytes for %d elements of %d bits, want %d", ErrPacked, len(src), n, bits, want)
	}
	if r := (n * bits) % 8; r != 0 && src[len(src)-1]>>uint(r) != 0 {
		return nil, fmt.Errorf("%w: nonzero padding bits in the last byte", ErrPacked)
	}
	dst = grow(dst, n)
	rd := bitReader{src: src}
	if bits <= 32 {
		for i := range dst {
			dst[i] = rd.get(bits)
		}
	} else {
		for i := range dst {
			lo := rd.get(32)
			dst[i] = lo | rd.get(bits-32)<<32
		}
	}
	return dst, nil
}
