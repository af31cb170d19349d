//go:build js && wasm

package prg

import "testing"

// WebCrypto's AES-CTR gives exactly Go's keystream, at any aligned offset.
func TestWebCryptoMatchesGo(t *testing.T) {
	if platformAES == nil {
		t.Skip("no WebCrypto in this JS host")
	}
	terms := []Term{{Seed: [32]byte{1}}, {Seed: [32]byte{2}, Sub: true}, {Seed: [32]byte{3}}}
	for _, bits := range []int{20, 32, 40, 64} {
		for _, start := range []int{0, 16, 4096} {
			a := make([]uint64, 5000)
			b := make([]uint64, 5000)
			if !platformAES(a, start, terms, bits) {
				t.Fatal("WebCrypto path declined")
			}
			applyGo(AES256CTR, b, nil, start, terms, bits)
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("bits %d start %d: element %d: WebCrypto %x, Go %x", bits, start, i, a[i], b[i])
				}
			}
		}
	}
}
