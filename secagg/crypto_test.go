package secagg

import (
	"math/rand/v2"
	"testing"
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
		for i := range ids {
			ids[i] = ClientID(perm[i] + 1)
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
