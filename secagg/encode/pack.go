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
	out := dst[start:]
	k := packFast(out, v, bits)
	packGo(out[k*bits/8:], v[k:], bits)
	return dst
}

// packGo is Pack's loop: it writes v packed at bits bits into out (every
// byte of it).
func packGo(out []byte, v []uint64, bits int) {
	// 64 bits at a time: element bits go into acc; when it fills, its word
	// is stored and acc restarts with the element's bits that did not fit.
	m := modMask(bits)
	var acc uint64
	fill, j := 0, 0
	for _, x := range v {
		x &= m
		acc |= x << uint(fill)
		fill += bits
		if fill >= 64 {
			binary.LittleEndian.PutUint64(out[j:], acc)
			j += 8
			fill -= 64
			acc = x >> uint(bits-fill) // 0 when bits-fill is 64
		}
	}
	for ; fill > 0; fill -= 8 {
		out[j] = byte(acc)
		j++
		acc >>= 8
	}
}

// Unpack decodes n elements of bits (1..64) bits each from src into dst
// (grown as needed). src must be exactly PackedLen(n, bits) bytes and its
// unused trailing bits must be zero, so every vector has one encoding.
func Unpack(dst []uint64, src []byte, n, bits int) ([]uint64, error) {
	if err := checkPacked(src, n, bits); err != nil {
		return nil, err
	}
	dst = grow(dst, n)
	unpack(dst, src, bits, false)
	return dst, nil
}

// UnpackAdd adds the n elements packed in src (as Unpack reads them) into
// sum modulo 2^bits: sum[i] = (sum[i] + v[i]) mod 2^bits, the server's
// per-device aggregation step without materialising the device's vector
// (one pass instead of two and no 8n-byte allocation to zero: about 3x
// faster than Unpack then AddMod on 460k elements of 18 bits). sum must
// have length n. On error sum is unchanged.
func UnpackAdd(sum []uint64, src []byte, n, bits int) error {
	if err := checkPacked(src, n, bits); err != nil {
		return err
	}
	if len(sum) != n {
		return fmt.Errorf("%w: sum has %d elements, the packed vector %d", ErrPacked, len(sum), n)
	}
	unpack(sum, src, bits, true)
	return nil
}

func checkPacked(src []byte, n, bits int) error {
	if bits < 1 || bits > 64 {
		return fmt.Errorf("%w: bits %d out of range 1..64", ErrPacked, bits)
	}
	if n < 0 || n > len(src)*8/bits+1 {
		return fmt.Errorf("%w: %d elements of %d bits cannot fit in %d bytes", ErrPacked, n, bits, len(src))
	}
	if want := PackedLen(n, bits); len(src) != want {
		return fmt.Errorf("%w: %d bytes for %d elements of %d bits, want %d", ErrPacked, len(src), n, bits, want)
	}
	if r := (n * bits) % 8; r != 0 && src[len(src)-1]>>uint(r) != 0 {
		return fmt.Errorf("%w: nonzero padding bits in the last byte", ErrPacked)
	}
	return nil
}

// unpack sets (add: adds mod 2^bits) dst[i] to element i of the validated
// src. For bits <= 56 element i is one unaligned 8-byte load at byte
// i·bits/8, shifted and masked: no carried state and no branch (the shift
// is at most 7, so the element fits the window); the last elements, whose
// window would run past src, read byte by byte. Wider elements use the
// carried 64-bit loop, the mirror of Pack.
func unpack(dst []uint64, src []byte, bits int, add bool) {
	if bits <= 56 {
		unpackShort(dst, src, bits, add, unpackFast(dst, src, bits, add))
		return
	}
	unpackLong(dst, src, bits, add)
}

// unpackShort is unpack's Go loop for bits <= 56, from element start on.
func unpackShort(dst []uint64, src []byte, bits int, add bool, start int) {
	m := modMask(bits)
	{
		n := len(dst)
		fast := 0
		if len(src) >= 8 {
			fast = min(n, (len(src)-8)*8/bits+1)
		}
		fast = max(fast, start)
		if add {
			for i := start; i < fast; i++ {
				p := i * bits
				dst[i] = (dst[i] + binary.LittleEndian.Uint64(src[p>>3:])>>uint(p&7)) & m
			}
		} else {
			for i := start; i < fast; i++ {
				p := i * bits
				dst[i] = binary.LittleEndian.Uint64(src[p>>3:]) >> uint(p&7) & m
			}
		}
		for i := fast; i < n; i++ {
			p := i * bits
			var w uint64
			for k := min(len(src), p>>3+8) - 1; k >= p>>3; k-- {
				w = w<<8 | uint64(src[k])
			}
			x := w >> uint(p&7) & m
			if add {
				x = (dst[i] + x) & m
			}
			dst[i] = x
		}
	}
}

// unpackLong is unpack's carried 64-bit loop (any width; used above 56).
func unpackLong(dst []uint64, src []byte, bits int, add bool) {
	m := modMask(bits)
	var acc uint64
	have, j := 0, 0 // bits left in acc; next byte of src
	for i := range dst {
		var x uint64
		if have >= bits {
			x = acc & m
			acc >>= uint(bits) // bits < 64 here
			have -= bits
		} else {
			var w uint64
			if j+8 <= len(src) {
				w = binary.LittleEndian.Uint64(src[j:])
			} else {
				for k := len(src) - 1; k >= j; k-- {
					w = w<<8 | uint64(src[k])
				}
			}
			j += 8
			x = (acc | w<<uint(have)) & m
			acc = w >> uint(bits-have) // 0 when bits-have is 64
			have += 64 - bits
		}
		if add {
			x = (dst[i] + x) & m
		}
		dst[i] = x
	}
}
