package prg

import (
	"crypto/cipher"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"unsafe"
)

// applyRef is the straightforward mask expansion (clear a buffer, XOR the
// keystream into it, add as uint64 words) that the optimised paths must
// match bit for bit; it is also the baseline in BenchmarkApplyPaths.
func applyRef(k Kind, dst []uint64, start int, terms []Term, bits int) {
	w := Width(bits)
	ss := make([]cipher.Stream, len(terms))
	for i := range terms {
		ss[i] = stream(k, &terms[i].Seed, start*w)
	}
	m := ^uint64(0)
	if bits < 64 {
		m = 1<<uint(bits) - 1
	}
	var buf [chunk / 8]uint64
	bb := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), chunk)
	per := chunk / w
	for off := 0; off < len(dst); off += per {
		d := dst[off:min(off+per, len(dst))]
		b := bb[:len(d)*w]
		for t, s := range ss {
			clear(b)
			s.XORKeyStream(b, b)
			add(d, b, buf[:], w, terms[t].Sub)
		}
		for i := range d {
			d[i] &= m
		}
	}
}

// bigStart is an element offset whose counter needs more than 32 bits
// (where int has 64).
func bigStart() int {
	s := 1<<28 + Align
	if strconv.IntSize == 64 {
		s <<= 8
	}
	return s
}

func TestApplyMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, k := range []Kind{AES256CTR, ChaCha20} {
		for _, bits := range []int{1, 7, 20, 26, 31, 32, 33, 40, 64} {
			for _, n := range []int{0, 1, 15, 16, 17, 2047, 2048, 2049, 5000, 3*block32 + 5} {
				for _, start := range []int{0, Align, 7 * Align, bigStart()} {
					terms := make([]Term, 1+r.IntN(5))
					for i := range terms {
						for j := range terms[i].Seed {
							terms[i].Seed[j] = byte(r.Uint32())
						}
						terms[i].Sub = r.IntN(2) == 0
					}
					a := make([]uint64, n)
					for i := range a {
						a[i] = r.Uint64() // unreduced input: both must reduce mod 2^bits
					}
					b := append([]uint64(nil), a...)
					src := append([]uint64(nil), a...)
					applyGo(k, a, nil, start, terms, bits)
					applyRef(k, b, start, terms, bits)
					// The same through a separate source (ApplyAllTo's path).
					c := make([]uint64, n)
					applyGo(k, c, src, start, terms, bits)
					for i := range c {
						if c[i] != b[i] {
							t.Fatalf("kind %d bits %d n %d start %d: from src, element %d = %x, reference %x", k, bits, n, start, i, c[i], b[i])
						}
					}
					for i := range a {
						if a[i] != b[i] {
							t.Fatalf("kind %d bits %d n %d start %d: element %d = %x, reference %x", k, bits, n, start, i, a[i], b[i])
						}
					}
				}
			}
		}
	}
}

func TestVAESPathUsed(t *testing.T) {
	t.Logf("VAES kernel in use: %v", hasVAES)
}

func TestAddSubU32(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for n := 0; n < 100; n++ {
		a := make([]uint32, n)
		b := make([]uint32, n+3) // longer b is allowed
		for i := range a {
			a[i] = r.Uint32()
		}
		for i := range b {
			b[i] = r.Uint32()
		}
		want := append([]uint32(nil), a...)
		addU32Go(want, b)
		got := append([]uint32(nil), a...)
		addU32(got, b)
		for i := range got {
			if got[i] != want[i] || want[i] != a[i]+b[i] {
				t.Fatalf("n %d: add lane %d = %x, want %x", n, i, got[i], a[i]+b[i])
			}
		}
		subU32(got, b)
		for i := range got {
			if got[i] != a[i] {
				t.Fatalf("n %d: sub lane %d = %x, want %x", n, i, got[i], a[i])
			}
		}
	}
}

// BenchmarkApplyPaths compares the reference expansion with the one in use
// (31 terms, as a client at n = 1000 has, over 2^20 elements).
func BenchmarkApplyPaths(b *testing.B) {
	terms := make([]Term, 31)
	for i := range terms {
		terms[i].Seed[0] = byte(i)
		terms[i].Sub = i%2 == 0
	}
	v := make([]uint64, 1<<20)
	for _, bits := range []int{26, 40} {
		for _, f := range []struct {
			name string
			fn   func(Kind, []uint64, int, []Term, int)
		}{{"ref", applyRef}, {"go", applyGoNoVAES}, {"vaes", func(k Kind, d []uint64, s int, t []Term, b int) { applyGo(k, d, nil, s, t, b) }}} {
			b.Run(fmt.Sprintf("bits=%d/%s", bits, f.name), func(b *testing.B) {
				b.SetBytes(int64(len(v) * len(terms)))
				for b.Loop() {
					f.fn(AES256CTR, v, 0, terms, bits)
				}
			})
		}
	}
}

// applyGoNoVAES is applyGo with the VAES kernel switched off.
func applyGoNoVAES(k Kind, dst []uint64, start int, terms []Term, bits int) {
	w := Width(bits)
	ss := make([]cipher.Stream, len(terms))
	for i := range terms {
		ss[i] = stream(k, &terms[i].Seed, start*w)
	}
	if w == 4 {
		apply32(dst, nil, ss, terms, bits)
		return
	}
	applyGo(k, dst, nil, start, terms, bits)
}

func TestApplyAllTo(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, k := range []Kind{AES256CTR, ChaCha20} {
		for _, bits := range []int{26, 40} {
			for _, nt := range []int{0, 3} {
				terms := make([]Term, nt)
				for i := range terms {
					terms[i].Seed[0], terms[i].Sub = byte(r.Uint32()), i%2 == 1
				}
				src := make([]uint64, 5000)
				for i := range src {
					src[i] = r.Uint64() & (1<<bits - 1)
				}
				want := append([]uint64(nil), src...)
				ApplyAll(k, want, terms, bits)
				keep := append([]uint64(nil), src...)
				got := make([]uint64, len(src))
				ApplyAllTo(k, got, src, terms, bits)
				for i := range got {
					if got[i] != want[i] || src[i] != keep[i] {
						t.Fatalf("kind %d bits %d terms %d: element %d = %x, want %x (source changed: %v)", k, bits, nt, i, got[i], want[i], src[i] != keep[i])
					}
				}
			}
		}
	}
}
