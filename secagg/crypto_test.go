package secagg

import (
	"bytes"
	"crypto/ecdh"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/cloudflare/circl/group"
)

// The fast Lagrange recovery agrees with circl's secretsharing.Recover and
// with the dealt secret, for random thresholds, share holders and orders.
func TestRecoverMatchesCircl(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	rs := clientStream(&[32]byte{5}, "test")
	for trial := range 40 {
		th := 1 + r.IntN(20)
		secret := randomScalar(rs)
		d := newDealer(rs, th, secret)
		perm := r.Perm(200)
		n := th + r.IntN(5)
		ids := make([]ClientID, n)
		sh := make([][32]byte, n)
		big := trial%2 == 1 // ids near 2^32: products overflow uint64 at every step
		seen := map[ClientID]bool{}
		for i := range ids {
			ids[i] = ClientID(perm[i] + 1)
			for big && (ids[i] < 1<<31 || seen[ids[i]]) {
				ids[i] = ClientID(r.Uint32())
			}
			seen[ids[i]] = true
			sh[i] = d.share(ids[i])
		}
		fast, err := recoverSecret(th, ids, sh)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := recoverSecretCircl(th, ids, sh)
		if err != nil {
			t.Fatal(err)
		}
		if !fast.IsEqual(ref) || !fast.IsEqual(secret) {
			t.Fatalf("trial %d (T=%d): recovered secrets differ", trial, th)
		}
		if th > 1 {
			if wrong, err := recoverSecret(th, ids[:th-1], sh[:th-1]); err == nil {
				_ = wrong
				t.Fatalf("trial %d: recovery from T-1 shares did not fail", trial)
			}
		}
	}
	if _, err := recoverSecret(2, []ClientID{3, 3}, make([][32]byte, 2)); err == nil {
		t.Fatal("duplicate share ids accepted")
	}
}

// ecdhWith (circl) computes exactly crypto/ecdh's X25519 and rejects the
// same public keys: random ones, ones with the ignored top bit set or
// non-canonical (>= p), and the low-order points.
func TestECDHMatchesStdlib(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	var keys [][32]byte
	for range 200 {
		var k [32]byte
		for i := range k {
			k[i] = byte(r.Uint32())
		}
		keys = append(keys, k)
	}
	p := [32]byte{0: 0xed, 31: 0x7f}
	for i := 1; i < 31; i++ {
		p[i] = 0xff
	}
	lowOrder := [][32]byte{{}, {0: 1}, p, {0: 0xee, 31: 0x7f}} // 0, 1, p (= 0), p+1 (= 1)
	for i := 1; i < 31; i++ {
		lowOrder[3][i] = 0xff
	}
	ecPoint := [32]byte{0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
		0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00} // order 8
	lowOrder = append(lowOrder, ecPoint)
	keys = append(keys, lowOrder...)
	for i := range 20 {
		k := keys[i]
		k[31] |= 0x80 // top bit set: must be ignored
		keys = append(keys, k)
	}
	rejected := 0
	for i, pub := range keys {
		var skb [32]byte
		for j := range skb {
			skb[j] = byte(r.Uint32())
		}
		sk, err := ecdh.X25519().NewPrivateKey(skb[:])
		if err != nil {
			t.Fatal(err)
		}
		var want []byte
		pk, err := ecdh.X25519().NewPublicKey(pub[:])
		if err == nil {
			want, err = sk.ECDH(pk)
		}
		got, gerr := ecdhWith(sk, pub, ClientID(i))
		if (err == nil) != (gerr == nil) {
			t.Fatalf("key %x: stdlib error %v, ecdhWith error %v", pub, err, gerr)
		}
		if err != nil {
			if !errors.Is(gerr, ErrMalformed) {
				t.Fatalf("key %x: %v is not ErrMalformed", pub, gerr)
			}
			rejected++
			continue
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("key %x: shared %x, stdlib %x", pub, got, want)
		}
	}
	if rejected < len(lowOrder) {
		t.Fatalf("%d keys rejected, want at least the %d low-order ones", rejected, len(lowOrder))
	}
}

// BenchmarkRecoverSecret: one secret at T = 17 (n = 1000's threshold) from
// shares held by ids in 1..1000, this code against circl's Recover.
func BenchmarkRecoverSecret(b *testing.B) {
	rs := clientStream(&[32]byte{6}, "bench")
	const th = 17
	d := newDealer(rs, th, randomScalar(rs))
	ids := make([]ClientID, th)
	sh := make([][32]byte, th)
	for i := range ids {
		ids[i] = ClientID(37 + 53*i)
		sh[i] = d.share(ids[i])
	}
	for _, f := range []struct {
		name string
		fn   func(int, []ClientID, [][32]byte) (group.Scalar, error)
	}{{"fast", recoverSecret}, {"circl", recoverSecretCircl}} {
		b.Run(f.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := f.fn(th, ids, sh); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
