package prg

import (
	"fmt"
	"testing"
)

func TestApplyCancels(t *testing.T) {
	for _, k := range []Kind{AES256CTR, ChaCha20} {
		for _, bits := range []int{1, 20, 32, 33, 64} {
			v := make([]uint64, 10000)
			seed := [32]byte{byte(k), byte(bits)}
			Apply(k, v, &seed, bits, false)
			nz := 0
			for _, x := range v {
				if bits < 64 && x>>uint(bits) != 0 {
					t.Fatalf("kind %d bits %d: element %x exceeds modulus", k, bits, x)
				}
				if x != 0 {
					nz++
				}
			}
			if bits >= 20 && nz < 9990 {
				t.Fatalf("kind %d bits %d: mask looks non-random (%d nonzero)", k, bits, nz)
			}
			Apply(k, v, &seed, bits, true)
			for i, x := range v {
				if x != 0 {
					t.Fatalf("kind %d bits %d: element %d = %x after add+sub", k, bits, i, x)
				}
			}
		}
	}
}

// Known answer: the first elements are the keystream words of the standard
// ciphers with an all-zero key (RFC 8439 section A.1 test vector 1 for
// ChaCha20: 76 b8 e0 ad ...; AES-256 of the zero block: dc 95 c0 78 ...).
func TestKnownAnswer(t *testing.T) {
	var seed [32]byte
	v := make([]uint64, 2)
	Apply(ChaCha20, v, &seed, 32, false)
	if v[0] != 0xade0b876 {
		t.Errorf("ChaCha20 first word %x, want ade0b876", v[0])
	}
	v = make([]uint64, 2)
	Apply(AES256CTR, v, &seed, 32, false)
	if v[0] != 0x78c095dc {
		t.Errorf("AES-256-CTR first word %x, want 78c095dc", v[0])
	}
}

func BenchmarkApply(b *testing.B) {
	for _, k := range []Kind{AES256CTR, ChaCha20} {
		name := map[Kind]string{AES256CTR: "aes-ctr", ChaCha20: "chacha20"}[k]
		for _, bits := range []int{26, 40} {
			b.Run(fmt.Sprintf("%s/bits=%d", name, bits), func(b *testing.B) {
				v := make([]uint64, 1<<20)
				seed := [32]byte{1}
				b.SetBytes(int64(len(v)))
				b.ReportAllocs()
				for b.Loop() {
					Apply(k, v, &seed, bits, false)
				}
			})
		}
	}
}

func BenchmarkApplyAll31(b *testing.B) {
	for _, k := range []Kind{AES256CTR, ChaCha20} {
		name := map[Kind]string{AES256CTR: "aes-ctr", ChaCha20: "chacha20"}[k]
		b.Run(name, func(b *testing.B) {
			v := make([]uint64, 1<<20)
			terms := make([]Term, 31)
			for i := range terms {
				terms[i].Seed[0] = byte(i)
				terms[i].Sub = i%2 == 0
			}
			b.SetBytes(int64(len(v) * len(terms)))
			for b.Loop() {
				ApplyAll(k, v, terms, 26)
			}
		})
	}
}

func TestApplyAllMatchesApply(t *testing.T) {
	terms := []Term{{Seed: [32]byte{1}}, {Seed: [32]byte{2}, Sub: true}, {Seed: [32]byte{3}}}
	for _, bits := range []int{26, 40, 64} {
		a := make([]uint64, 50000)
		b := make([]uint64, 50000)
		ApplyAll(AES256CTR, a, terms, bits)
		for _, tm := range terms {
			Apply(AES256CTR, b, &tm.Seed, bits, tm.Sub)
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("bits %d: element %d differs", bits, i)
			}
		}
	}
}

func TestApplyAtMatchesApplyAll(t *testing.T) {
	for _, k := range []Kind{AES256CTR, ChaCha20} {
		for _, bits := range []int{26, 40} {
			terms := []Term{{Seed: [32]byte{9}}, {Seed: [32]byte{8}, Sub: true}}
			a := make([]uint64, 10000)
			ApplyAll(k, a, terms, bits)
			b := make([]uint64, 10000)
			for _, cut := range [][2]int{{0, 4000}, {4000, 4096}, {4096, 10000}} {
				ApplyAt(k, b[cut[0]:cut[1]], cut[0], terms, bits)
			}
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("kind %d bits %d: element %d differs", k, bits, i)
				}
			}
		}
	}
}
