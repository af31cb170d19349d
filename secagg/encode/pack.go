package encode

import (
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
	m := modMask(bits)
	start := len(dst)
	n := PackedLen(len(v), bits)
	if cap(dst)-start < n {
		nd := make([]byte, start, start+n)
		copy(nd, dst)
		dst = nd
	}
	dst = dst[:start+n]
	out := dst[start:]
	if bits%8 == 0 {
		nb := bits / 8
		for i, x := range v {
			o := out[i*nb : i*nb+nb]
			for k := range o {
				o[k] = byte(x >> (8 * uint(k)))
			}
		}
		return dst
	}
	var acc uint64 // pending bits, LSB first
	nacc := 0      // how many pending bits
	j := 0
	for _, x := range v {
		x &= m
		acc |= x << uint(nacc)
		if nacc+bits >= 64 {
			// acc is full: flush 8 bytes, keep the high part of x.
			for k := 0; k < 8; k++ {
				out[j] = byte(acc >> (8 * uint(k)))
				j++
			}
			used := 64 - nacc
			if used == 64 {
				acc = 0
			} else {
				acc = x >> uint(used)
			}
			nacc = nacc + bits - 64
		} else {
			nacc += bits
		}
		for nacc >= 8 {
			out[j] = byte(acc)
			j++
			acc >>= 8
			nacc -= 8
		}
	}
	if nacc > 0 {
		out[j] = byte(acc)
	}
	return dst
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
	m := modMask(bits)
	if bits%8 == 0 {
		nb := bits / 8
		for i := range dst {
			var x uint64
			for k, b := range src[i*nb : i*nb+nb] {
				x |= uint64(b) << (8 * uint(k))
			}
			dst[i] = x
		}
		return dst, nil
	}
	var acc uint64
	nacc := 0
	j := 0
	for i := range dst {
		for nacc < bits && nacc <= 56 {
			acc |= uint64(src[j]) << uint(nacc)
			j++
			nacc += 8
		}
		if nacc >= bits {
			dst[i] = acc & m
			acc >>= uint(bits)
			nacc -= bits
			continue
		}
		// bits > nacc > 56: take the low part from acc, the rest from the next byte.
		b := uint64(src[j])
		j++
		x := acc | b<<uint(nacc)
		dst[i] = x & m
		used := bits - nacc // bits of b consumed
		acc = b >> uint(used)
		nacc = 8 - used
	}
	return dst, nil
}
