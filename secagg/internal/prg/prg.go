// Package prg expands a 32-byte seed into a mask vector in Z_2^B. Two
// keystreams are implemented so they can be measured side by side (natively
// and in wasm); SecAgg uses AES (see secagg/SPEC.md for the numbers).
package prg

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"unsafe"

	"golang.org/x/crypto/chacha20"
)

// Kind selects the keystream.
type Kind uint8

const (
	AES256CTR Kind = iota // AES-256-CTR, key = seed, IV = 0
	ChaCha20              // ChaCha20 (RFC 8439), key = seed, nonce = 0, counter from 0
)

const chunk = 16 << 10 // keystream bytes generated per step

// stream returns the keystream for seed, starting at byte offset off
// (a multiple of 64).
func stream(k Kind, seed *[32]byte, off int) cipher.Stream {
	switch k {
	case ChaCha20:
		s, err := chacha20.NewUnauthenticatedCipher(seed[:], make([]byte, 12))
		if err != nil {
			panic(err) // key and nonce sizes are fixed above
		}
		s.SetCounter(uint32(off / 64))
		return s
	default:
		b, err := aes.NewCipher(seed[:])
		if err != nil {
			panic(err)
		}
		iv := make([]byte, aes.BlockSize)
		binary.BigEndian.PutUint64(iv[8:], uint64(off/aes.BlockSize))
		return cipher.NewCTR(b, iv)
	}
}

// Width is the keystream bytes per element: 4 when bits <= 32, else 8.
func Width(bits int) int {
	if bits <= 32 {
		return 4
	}
	return 8
}

// Term is one mask to add (or subtract) in ApplyAll.
type Term struct {
	Seed [32]byte
	Sub  bool
}

// Apply adds (sub=false) or subtracts (sub=true) the mask expanded from seed
// to dst, mod 2^bits. Element i of the mask is the little-endian uint32
// (bits <= 32) or uint64 (bits > 32) at keystream offset i·Width(bits),
// reduced mod 2^bits.
func Apply(k Kind, dst []uint64, seed *[32]byte, bits int, sub bool) {
	ApplyAll(k, dst, []Term{{Seed: *seed, Sub: sub}}, bits)
}

// ApplyAll applies every term to dst, mod 2^bits. It walks dst in small
// blocks and applies all terms to a block while it is in cache, which is
// what makes 30 masks over a million elements cheap.
func ApplyAll(k Kind, dst []uint64, terms []Term, bits int) {
	ApplyAt(k, dst, 0, terms, bits)
}

// ApplyAllTo sets dst to src with every term applied, mod 2^bits (dst and
// src have the same length). It is ApplyAll on a copy of src without the
// separate copy pass: a client masks its input this way.
func ApplyAllTo(k Kind, dst, src []uint64, terms []Term, bits int) {
	if len(dst) != len(src) {
		panic("prg: ApplyAllTo with dst and src of different lengths")
	}
	if len(terms) == 0 || (k == AES256CTR && platformAES != nil) {
		copy(dst, src)
		ApplyAt(k, dst, 0, terms, bits)
		return
	}
	applyGo(k, dst, src, 0, terms, bits)
}

// Align is the granularity of start in ApplyAt.
const Align = 16

// ApplyAt is ApplyAll for the part of the mask that starts at element
// start (a multiple of Align), so a long vector can be split among
// goroutines.
func ApplyAt(k Kind, dst []uint64, start int, terms []Term, bits int) {
	if len(terms) == 0 {
		return
	}
	if start%Align != 0 {
		panic("prg: ApplyAt start not a multiple of Align")
	}
	if k == AES256CTR && platformAES != nil && platformAES(dst, start, terms, bits) {
		return
	}
	applyGo(k, dst, nil, start, terms, bits)
}

// platformAES, when set (js/wasm: WebCrypto), applies AES-CTR masks with the
// platform's hardware-backed AES; it returns false to fall back to Go.
var platformAES func(dst []uint64, start int, terms []Term, bits int) bool

// applyGo is ApplyAt with Go's ciphers; with src non-nil the masks are
// applied to src and the result written to dst.
func applyGo(k Kind, dst, src []uint64, start int, terms []Term, bits int) {
	w := Width(bits)
	if w == 4 && littleEndian && k == AES256CTR && applyVAES(dst, src, start, terms, bits) {
		return
	}
	ss := make([]cipher.Stream, len(terms))
	for i := range terms {
		ss[i] = stream(k, &terms[i].Seed, start*w)
	}
	if w == 4 && littleEndian {
		apply32(dst, src, ss, terms, bits)
		return
	}
	if src != nil {
		copy(dst, src)
	}
	m := ^uint64(0)
	if bits < 64 {
		m = 1<<uint(bits) - 1
	}
	var buf [chunk / 8]uint64 // 8-byte aligned so it can be read as words
	bb := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), chunk)
	per := chunk / w
	for off := 0; off < len(dst); off += per {
		d := dst[off:min(off+per, len(dst))]
		b := bb[:len(d)*w]
		for t, s := range ss {
			s.XORKeyStream(b, zeros[:len(b)])
			add(d, b, buf[:], w, terms[t].Sub)
		}
		// Arithmetic wraps mod 2^64, a multiple of 2^bits: reduce once.
		if m != ^uint64(0) {
			for i := range d {
				d[i] &= m
			}
		}
	}
}

// zeros is the plaintext the keystream is "encrypted" from: XORing into a
// read-only zero buffer saves clearing the output buffer for every term.
var zeros [chunk]byte

// block32 is the number of elements apply32 keeps in its accumulator: the
// accumulator and one term's keystream (8 KiB each) stay in L1.
const block32 = 2048

// apply32 is applyGo for bits <= 32 on little-endian hosts. The block is
// accumulated in uint32 lanes (wrapping mod 2^32, a multiple of 2^bits),
// which halves the memory touched per term compared with uint64 and lets
// addU32/subU32 add four or more lanes per instruction.
func apply32(dst, src []uint64, ss []cipher.Stream, terms []Term, bits int) {
	m := uint32(1<<uint(bits) - 1)
	if bits == 32 {
		m = ^uint32(0)
	}
	var acc, ks [block32]uint32
	kb := unsafe.Slice((*byte)(unsafe.Pointer(&ks[0])), 4*block32)
	for off := 0; off < len(dst); off += block32 {
		d := dst[off:min(off+block32, len(dst))]
		a := acc[:len(d)]
		widen(a, d, src, off)
		b := kb[:4*len(d)]
		for t, s := range ss {
			s.XORKeyStream(b, zeros[:len(b)])
			if terms[t].Sub {
				subU32(a, ks[:len(d)])
			} else {
				addU32(a, ks[:len(d)])
			}
		}
		for i, x := range a {
			d[i] = uint64(x & m)
		}
	}
}

// widen loads the accumulator a with the block of src (or, when src is
// nil, of d itself) at offset off, truncated to 32 bits.
func widen(a []uint32, d, src []uint64, off int) {
	if src != nil {
		d = src[off : off+len(d)]
	}
	for i, x := range d {
		a[i] = uint32(x)
	}
}

// addU32Go sets a[i] += b[i] (mod 2^32); b is at least as long as a.
func addU32Go(a, b []uint32) {
	b = b[:len(a)]
	for i, x := range b {
		a[i] += x
	}
}

// subU32Go sets a[i] -= b[i] (mod 2^32); b is at least as long as a.
func subU32Go(a, b []uint32) {
	b = b[:len(a)]
	for i, x := range b {
		a[i] -= x
	}
}

func add(d []uint64, b []byte, words []uint64, w int, sub bool) {
	switch {
	case w == 4 && littleEndian:
		ks := unsafe.Slice((*uint32)(unsafe.Pointer(&words[0])), len(d))
		if sub {
			for i, x := range ks {
				d[i] -= uint64(x)
			}
		} else {
			for i, x := range ks {
				d[i] += uint64(x)
			}
		}
	case w == 8 && littleEndian:
		ks := words[:len(d)]
		if sub {
			for i, x := range ks {
				d[i] -= x
			}
		} else {
			for i, x := range ks {
				d[i] += x
			}
		}
	default:
		for i := range d {
			var x uint64
			if w == 4 {
				x = uint64(binary.LittleEndian.Uint32(b[4*i:]))
			} else {
				x = binary.LittleEndian.Uint64(b[8*i:])
			}
			if sub {
				x = -x
			}
			d[i] += x
		}
	}
}

// littleEndian reports whether the host stores words little-endian, so the
// keystream bytes can be read as words in place.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()
