package secagg

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// A malicious client j sends its neighbours unusable encrypted shares
// (garbage, a valid ciphertext naming the wrong parties, one holding
// non-canonical scalars). The victims must not stall: each rejects j's
// share (Client.Rejected names j), reveals nothing of j, and the round
// still yields the exact sum of the survivors, whether j then survives or
// drops (its mask key is recovered from the other neighbours' shares).
func TestCorruptSharesSkipped(t *testing.T) {
	for _, n := range []int{12, 40} {
		for _, jDrops := range []bool{false, true} {
			t.Run(fmt.Sprintf("n=%d/j-drops=%v", n, jDrops), func(t *testing.T) {
				p := params(n, 57, 21, 300+uint64(n))
				r := rand.New(rand.NewPCG(uint64(n), 7))
				inputs := randInputs(r, p)
				rd := newRound(t, p, inputs)
				const j = ClientID(5)
				nb, err := Neighbours(p, j)
				if err != nil {
					t.Fatal(err)
				}
				kinds := []string{"garbage", "wrong parties", "bad scalar"}
				victim := map[ClientID]string{}
				for k, id := range nb[:len(kinds)] {
					victim[id] = kinds[k]
				}
				rd.tamper = func(stage int, from ClientID, msg []byte) []byte {
					if stage != 1 || from != j {
						return msg
					}
					var sk ShareKeys
					if err := sk.UnmarshalBinary(msg); err != nil {
						t.Fatal(err)
					}
					cj := rd.clients[j]
					for i := range sk.Shares {
						e := &sk.Shares[i]
						a, nonce, ad := shareAEAD(&cj.sid, cj.encSh[e.Peer], j, e.Peer)
						var pt []byte
						switch victim[e.Peer] {
						case "garbage":
							for k := range e.Ciphertext {
								e.Ciphertext[k] = byte(r.Uint32())
							}
							continue
						case "wrong parties":
							pt = putID(putID(nil, j), e.Peer+1)
							pt = append(pt, make([]byte, 64)...)
						case "bad scalar":
							pt = putID(putID(nil, j), e.Peer)
							pt = append(pt, bytes.Repeat([]byte{0xff}, 64)...)
						default:
							continue
						}
						a.Seal(e.Ciphertext[:0], nonce, pt, ad)
					}
					return mustMarshal(&sk)
				}
				var d drops
				for k := range d {
					d[k] = map[ClientID]bool{}
				}
				if jDrops {
					d[2][j] = true // vanishes before its masked input
				}
				sum, surv, err := rd.run(d)
				if err != nil {
					t.Fatalf("round failed: %v", err)
				}
				want := map[ClientID]bool{}
				for id := range inputs {
					if !jDrops || id != j {
						want[id] = true
					}
				}
				if len(surv) != n-len(d[2]) {
					t.Fatalf("%d survivors, want %d", len(surv), n-len(d[2]))
				}
				exp := expectedSum(p, inputs, want)
				for i := range exp {
					if sum[i] != exp[i] {
						t.Fatalf("sum[%d] = %d, want %d", i, sum[i], exp[i])
					}
				}
				wantErr := map[string]error{"garbage": ErrSession, "wrong parties": ErrMalformed, "bad scalar": ErrMalformed}
				for id, c := range rd.clients {
					rej := c.Rejected()
					kind, isVictim := victim[id]
					if !isVictim {
						if len(rej) != 0 {
							t.Errorf("client %d rejected %v, want none", id, rej)
						}
						continue
					}
					if len(rej) != 1 || !errors.Is(rej[j], wantErr[kind]) {
						t.Errorf("client %d (%s): rejected %v, want only %d with %v", id, kind, rej, j, wantErr[kind])
					}
					if _, ok := c.revealed[j]; ok {
						t.Errorf("client %d revealed a share of %d, whose share it rejected", id, j)
					}
					if !c.Done() {
						t.Errorf("client %d (%s) did not finish: %v", id, kind, c.Err())
					}
				}
			})
		}
	}
}

// Enough peers but too few usable shares (here: every share corrupt) is
// refused with a clear error and the state unchanged, so the right message
// can still come; too few peers at all aborts as before.
func TestTooFewUsableShares(t *testing.T) {
	p := params(8, 10, 16, 77)
	r := rand.New(rand.NewPCG(8, 8))
	rd := newRound(t, p, randInputs(r, p))
	in := stepTo(t, rd, StageMaskedInput) // SharesFor for everyone
	c := rd.clients[3]
	var sf SharesFor
	if err := sf.UnmarshalBinary(in[3]); err != nil {
		t.Fatal(err)
	}
	bad := sf
	bad.Shares = append([]EncryptedShare(nil), sf.Shares...)
	for i := range bad.Shares {
		bad.Shares[i].Ciphertext[0] ^= 1
	}
	before, _ := c.MarshalBinary()
	if _, err := c.Handle(mustMarshal(&bad)); !errors.Is(err, ErrSession) {
		t.Fatalf("all shares corrupt: %v, want ErrSession", err)
	}
	if after, _ := c.MarshalBinary(); !bytes.Equal(before, after) || c.Err() != nil {
		t.Fatal("state changed after an unusable SharesFor")
	}
	few := sf
	few.Shares = sf.Shares[:p.Threshold-1]
	if _, err := c.Handle(mustMarshal(&few)); !errors.Is(err, ErrTooFewSurvivors) || c.Err() == nil {
		t.Fatalf("too few peers: %v (aborted: %v), want ErrTooFewSurvivors and an abort", err, c.Err())
	}
}

// The server accepts an UnmaskShares that leaves peers out (what a client
// that rejected some shares sends) but refuses shares for clients that are
// not the sender's neighbours, out of order, or of the wrong kind, with
// its state unchanged.
func TestServerUnmaskSubsets(t *testing.T) {
	p := params(8, 10, 16, 78)
	r := rand.New(rand.NewPCG(9, 9))
	rd := newRound(t, p, randInputs(r, p))
	in := stepTo(t, rd, StageUnmask)
	reply, err := rd.clients[1].Handle(in[1])
	if err != nil {
		t.Fatal(err)
	}
	var u UnmaskShares
	if err := u.UnmarshalBinary(reply); err != nil {
		t.Fatal(err)
	}
	with := func(f func(s []RevealedShare) []RevealedShare) []byte {
		v := u
		v.Shares = f(append([]RevealedShare(nil), u.Shares...))
		return mustMarshal(&v)
	}
	bad := map[string][]byte{
		"unknown peer": with(func(s []RevealedShare) []RevealedShare { s[len(s)-1].Peer = 99; return s }),
		"self":         with(func(s []RevealedShare) []RevealedShare { s[0].Peer = 1; return s }),
		"wrong kind":   with(func(s []RevealedShare) []RevealedShare { s[0].Kind = KindMaskKey; return s }),
	}
	for name, msg := range bad {
		if err := rd.srv.Handle(1, msg); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
		if len(rd.srv.unmask) != 0 {
			t.Fatalf("%s: server state changed", name)
		}
	}
	omit := with(func(s []RevealedShare) []RevealedShare { return append(s[:1], s[2:]...) })
	if err := rd.srv.Handle(1, omit); err != nil {
		t.Fatalf("UnmaskShares without one peer: %v", err)
	}
}

// A malicious client j deals wrong (but well-formed) shares to some
// neighbours and then drops: the first threshold of shares recovers a key
// that does not match j's advertised mask key, and the server must find a
// clean subset instead of aborting the round. With too few right shares
// left it still aborts with ErrInconsistent.
func TestWrongMaskKeySharesRetried(t *testing.T) {
	for _, tc := range []struct {
		n, bad  int
		succeed bool
	}{{12, 3, true}, {40, 3, true}, {40, 7, false}} {
		t.Run(fmt.Sprintf("n=%d/bad=%d", tc.n, tc.bad), func(t *testing.T) {
			p := params(tc.n, 31, 20, 400+uint64(tc.n))
			r := rand.New(rand.NewPCG(uint64(tc.n), 9))
			inputs := randInputs(r, p)
			rd := newRound(t, p, inputs)
			const j = ClientID(2) // low id: its bad shares are among the first used
			nb, err := Neighbours(p, j)
			if err != nil {
				t.Fatal(err)
			}
			victim := map[ClientID]bool{}
			for _, id := range nb[:tc.bad] {
				victim[id] = true
			}
			rs := clientStream(&[32]byte{7}, "wrong shares")
			rd.tamper = func(stage int, from ClientID, msg []byte) []byte {
				if stage != 1 || from != j {
					return msg
				}
				var sk ShareKeys
				if err := sk.UnmarshalBinary(msg); err != nil {
					t.Fatal(err)
				}
				cj := rd.clients[j]
				for i := range sk.Shares {
					e := &sk.Shares[i]
					if !victim[e.Peer] {
						continue
					}
					a, nonce, ad := shareAEAD(&cj.sid, cj.encSh[e.Peer], j, e.Peer)
					rsh, bsh := scalarBytes(randomScalar(rs)), scalarBytes(randomScalar(rs))
					pt := append(append(putID(putID(nil, j), e.Peer), rsh[:]...), bsh[:]...)
					a.Seal(e.Ciphertext[:0], nonce, pt, ad)
				}
				return mustMarshal(&sk)
			}
			var d drops
			for k := range d {
				d[k] = map[ClientID]bool{}
			}
			d[2][j] = true // drops before its masked input: its mask key is recovered
			sum, _, err := rd.run(d)
			if !tc.succeed {
				if !errors.Is(err, ErrInconsistent) {
					t.Fatalf("with %d wrong shares: %v, want ErrInconsistent", tc.bad, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("round failed: %v", err)
			}
			want := map[ClientID]bool{}
			for id := range inputs {
				if id != j {
					want[id] = true
				}
			}
			exp := expectedSum(p, inputs, want)
			for i := range exp {
				if sum[i] != exp[i] {
					t.Fatalf("sum[%d] = %d, want %d", i, sum[i], exp[i])
				}
			}
		})
	}
}
