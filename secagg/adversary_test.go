package secagg

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// stepTo drives an honest round with no dropout until the server has
// closed the given stage (exclusive), returning the messages the server
// just produced, keyed by recipient.
func stepTo(t *testing.T, rd *round, stage Stage) map[ClientID][]byte {
	t.Helper()
	out := map[ClientID][]byte{}
	for id, c := range rd.clients {
		out[id] = c.Start()
	}
	for s := StageAdvertise; s < stage; s++ {
		for id, msg := range out {
			if err := rd.srv.Handle(id, msg); err != nil {
				t.Fatalf("stage %v: %v", s, err)
			}
		}
		in, err := rd.srv.Advance()
		if err != nil {
			t.Fatalf("advance %v: %v", s, err)
		}
		if s == stage-1 {
			return in
		}
		out = map[ClientID][]byte{}
		for id, msg := range in {
			reply, err := rd.clients[id].Handle(msg)
			if err != nil {
				t.Fatalf("client %d at %v: %v", id, s, err)
			}
			out[id] = reply
		}
	}
	return out
}

// A server that shows different survivor lists to different clients: the
// honest clients that can see the lie abort, and the server never gets
// enough shares of both kinds for the victim.
func TestLyingServer(t *testing.T) {
	for _, n := range []int{8, 40} {
		p := params(n, 10, 20, 500+uint64(n))
		r := rand.New(rand.NewPCG(uint64(n), 9))
		rd := newRound(t, p, randInputs(r, p))
		survMsgs := stepTo(t, rd, StageConsistency) // all clients sent masked inputs
		// Victim 1 did send its input; the server tells half of its
		// neighbours (and everyone else) the truth and the other half that
		// it dropped, hoping for its self-mask shares from the first half
		// and its mask-key shares from the second.
		victim := ClientID(1)
		nb := rd.srv.g.neighbours(victim)
		liar := map[ClientID]bool{}
		for i, j := range nb {
			if i%2 == 1 {
				liar[j] = true
			}
		}
		var ids []ClientID
		for id := 1; id <= n; id++ {
			if ClientID(id) != victim {
				ids = append(ids, ClientID(id))
			}
		}
		fake, _ := (&SurvivorList{RoundID: p.RoundID, IDs: ids}).MarshalBinary()
		sigs := map[ClientID]ConsistencySig{}
		for id := range survMsgs {
			msg := survMsgs[id]
			if liar[id] {
				msg = fake
			}
			reply, err := rd.clients[id].Handle(msg)
			if err != nil {
				t.Fatalf("client %d signing: %v", id, err)
			}
			var s ConsistencySig
			if err := s.UnmarshalBinary(reply); err != nil {
				t.Fatal(err)
			}
			sigs[id] = s
		}
		// The server forwards the neighbours' signatures as they are.
		kinds := map[uint8]int{}
		aborted := 0
		for id := range survMsgs {
			req := &UnmaskRequest{RoundID: p.RoundID, To: id}
			for _, j := range rd.srv.g.neighbours(id) {
				req.Sigs = append(req.Sigs, SigEntry{ID: j, Sig: sigs[j].Sig})
			}
			b, _ := req.MarshalBinary()
			reply, err := rd.clients[id].Handle(b)
			sawLie := false
			for _, j := range rd.srv.g.neighbours(id) {
				sawLie = sawLie || liar[j] != liar[id]
			}
			if sawLie {
				if !errors.Is(err, ErrInconsistent) {
					t.Fatalf("n=%d: client %d saw a neighbour with another list but did not abort: %v", n, id, err)
				}
				if rd.clients[id].Err() == nil {
					t.Fatalf("client %d: Err() is nil after the abort", id)
				}
				aborted++
				continue
			}
			if err != nil {
				t.Fatalf("n=%d: client %d with a consistent neighbourhood failed: %v", n, id, err)
			}
			var u UnmaskShares
			if err := u.UnmarshalBinary(reply); err != nil {
				t.Fatal(err)
			}
			for _, s := range u.Shares {
				if s.Peer == victim {
					kinds[s.Kind]++
				}
			}
		}
		if aborted == 0 {
			t.Fatalf("n=%d: nobody aborted", n)
		}
		if kinds[KindSelfMask] >= p.Threshold && kinds[KindMaskKey] >= p.Threshold {
			t.Fatalf("n=%d: server got %d self-mask and %d mask-key shares of the victim (threshold %d)",
				n, kinds[KindSelfMask], kinds[KindMaskKey], p.Threshold)
		}
		t.Logf("n=%d: %d clients aborted; victim shares revealed: %v", n, aborted, kinds)
		// An aborted client stays aborted.
		for id, c := range rd.clients {
			if c.Err() != nil {
				if _, err := c.Handle(survMsgs[id]); !errors.Is(err, ErrAborted) {
					t.Fatalf("aborted client %d answered again: %v", id, err)
				}
				break
			}
		}
	}
}

// A client reveals exactly one kind of share per peer, and cannot be made
// to reveal the other kind by a second request or a second survivor list.
func TestNeverBothShares(t *testing.T) {
	p := params(12, 6, 20, 77)
	r := rand.New(rand.NewPCG(3, 3))
	rd := newRound(t, p, randInputs(r, p))
	var d drops
	d[2] = map[ClientID]bool{5: true} // 5 shares keys, then drops
	for k := range d {
		if d[k] == nil {
			d[k] = map[ClientID]bool{}
		}
	}
	// Run up to the survivor list by hand so we can replay things.
	out := map[ClientID][]byte{}
	for id, c := range rd.clients {
		out[id] = c.Start()
	}
	var survMsgs, unmaskReqs, unmaskReplies map[ClientID][]byte
	for s := StageAdvertise; s < StageDone; s++ {
		for id, msg := range out {
			if d[2][id] && s >= StageMaskedInput {
				continue
			}
			if err := rd.srv.Handle(id, msg); err != nil {
				t.Fatal(err)
			}
		}
		in, err := rd.srv.Advance()
		if err != nil {
			t.Fatal(err)
		}
		if s == StageMaskedInput {
			survMsgs = in
		}
		if s == StageConsistency {
			unmaskReqs = in
		}
		out = map[ClientID][]byte{}
		for id, msg := range in {
			reply, err := rd.clients[id].Handle(msg)
			if err != nil {
				t.Fatal(err)
			}
			out[id] = reply
		}
		if s == StageConsistency {
			unmaskReplies = out
		}
	}
	if _, _, err := rd.srv.Result(); err != nil {
		t.Fatal(err)
	}
	c := rd.clients[1]
	first := unmaskReplies[1]
	var u UnmaskShares
	if err := u.UnmarshalBinary(first); err != nil {
		t.Fatal(err)
	}
	seen := map[ClientID]uint8{}
	for _, s := range u.Shares {
		if _, dup := seen[s.Peer]; dup {
			t.Fatalf("two shares for peer %d", s.Peer)
		}
		seen[s.Peer] = s.Kind
	}
	if seen[5] != KindMaskKey {
		t.Fatalf("dropped peer 5 got share kind %d, want mask key", seen[5])
	}
	if seen[2] != KindSelfMask {
		t.Fatalf("survivor 2 got share kind %d, want self mask", seen[2])
	}
	// Replaying the same request returns the same bytes.
	again, err := c.Handle(unmaskReqs[1])
	if err != nil || !bytes.Equal(again, first) {
		t.Fatalf("replayed unmask request: err %v, same bytes %v", err, bytes.Equal(again, first))
	}
	// A survivor list that now includes 5, or an altered request, is refused.
	all := make([]ClientID, 0, p.N)
	for id := 1; id <= p.N; id++ {
		all = append(all, ClientID(id))
	}
	alt, _ := (&SurvivorList{RoundID: p.RoundID, IDs: all}).MarshalBinary()
	if _, err := c.Handle(alt); !errors.Is(err, ErrStage) {
		t.Fatalf("second survivor list: %v, want ErrStage", err)
	}
	var req UnmaskRequest
	if err := req.UnmarshalBinary(unmaskReqs[1]); err != nil {
		t.Fatal(err)
	}
	req.Sigs = req.Sigs[:len(req.Sigs)-1]
	b, _ := req.MarshalBinary()
	if _, err := c.Handle(b); !errors.Is(err, ErrStage) {
		t.Fatalf("second unmask request: %v, want ErrStage", err)
	}
	for peer, k := range c.revealed {
		if k != seen[peer] {
			t.Fatalf("peer %d: revealed kind changed to %d", peer, k)
		}
	}
	_ = survMsgs
}

// Bad input at the client: a clear error and the state unchanged (the
// next good message still works).
func TestClientRejectsBadInput(t *testing.T) {
	p := params(6, 4, 16, 9)
	r := rand.New(rand.NewPCG(4, 4))
	inputs := randInputs(r, p)
	rd := newRound(t, p, inputs)
	in := stepTo(t, rd, StageShareKeys) // KeyList for everyone
	c := rd.clients[2]
	good := in[2]
	// Another round with identical params but different client seeds: its
	// shares are for another session.
	other := newRound(t, p, inputs)
	for id, oc := range other.clients {
		s := seedFor(999, id)
		other.clients[id], _ = newClient(p, id, inputs[id], s)
		_ = oc
	}
	otherShares := stepTo(t, other, StageMaskedInput)

	cases := map[string]struct {
		msg  []byte
		want error
	}{
		"empty":        {nil, ErrMalformed},
		"garbage":      {[]byte("hello, this is not a message"), ErrMalformed},
		"truncated":    {good[:len(good)-1], ErrMalformed},
		"extended":     {append(append([]byte{}, good...), 0), ErrMalformed},
		"bad version":  {append([]byte{9}, good[1:]...), ErrMalformed},
		"wrong round":  {withRound(good, 12345), ErrSession},
		"out of stage": {mustMarshal(&SurvivorList{RoundID: p.RoundID, IDs: []ClientID{1, 2}}), ErrStage},
	}
	for name, tc := range cases {
		before, _ := c.MarshalBinary()
		if _, err := c.Handle(tc.msg); !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", name, err, tc.want)
		}
		after, _ := c.MarshalBinary()
		if !bytes.Equal(before, after) {
			t.Errorf("%s: state changed", name)
		}
	}
	// Now the good message, then a share from the other session.
	if _, err := c.Handle(good); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Handle(good); err != nil {
		t.Fatalf("replayed KeyList: %v", err)
	}
	// Feed the rest so 2 can receive shares.
	for id, cl := range rd.clients {
		if id == 2 {
			continue
		}
		reply, err := cl.Handle(in[id])
		if err != nil {
			t.Fatal(err)
		}
		if err := rd.srv.Handle(id, reply); err != nil {
			t.Fatal(err)
		}
	}
	reply, _ := c.Handle(good)
	if err := rd.srv.Handle(2, reply); err != nil {
		t.Fatal(err)
	}
	shares, err := rd.srv.Advance()
	if err != nil {
		t.Fatal(err)
	}
	before, _ := c.MarshalBinary()
	if _, err := c.Handle(otherShares[2]); !errors.Is(err, ErrSession) {
		t.Fatalf("share from another session: %v, want ErrSession", err)
	}
	after, _ := c.MarshalBinary()
	if !bytes.Equal(before, after) {
		t.Fatal("state changed after a foreign share")
	}
	if _, err := c.Handle(shares[2]); err != nil {
		t.Fatalf("good shares after a bad one: %v", err)
	}
}

func withRound(b []byte, round uint64) []byte {
	b = append([]byte{}, b...)
	for i := range 8 {
		b[2+i] = byte(round >> (8 * i))
	}
	return b
}

func mustMarshal(m Message) []byte {
	b, err := m.MarshalBinary()
	if err != nil {
		panic(err)
	}
	return b
}

// Bad input at the server: a clear error and the state unchanged.
func TestServerRejectsBadInput(t *testing.T) {
	p := params(6, 4, 16, 10)
	r := rand.New(rand.NewPCG(5, 5))
	rd := newRound(t, p, randInputs(r, p))
	in := stepTo(t, rd, StageMaskedInput) // SharesFor; server now in masked-input
	masked := map[ClientID][]byte{}
	for id, msg := range in {
		reply, err := rd.clients[id].Handle(msg)
		if err != nil {
			t.Fatal(err)
		}
		masked[id] = reply
	}
	var m MaskedInput
	if err := m.UnmarshalBinary(masked[1]); err != nil {
		t.Fatal(err)
	}
	long := m
	long.Vector = append(append([]uint64{}, m.Vector...), 1)
	narrow := m
	narrow.ModBits = 15
	adv := rd.clients[1].Start()
	cases := map[string]struct {
		from ClientID
		msg  []byte
		want error
	}{
		"wrong length":   {1, mustMarshal(&long), ErrMalformed},
		"wrong bits":     {1, mustMarshal(&narrow), ErrMalformed},
		"wrong sender":   {2, masked[1], ErrMalformed},
		"unknown sender": {99, masked[1], ErrMalformed},
		"out of stage":   {1, adv, ErrStage},
		"wrong round":    {1, withRound(masked[1], 1), ErrSession},
		"truncated":      {1, masked[1][:20], ErrMalformed},
	}
	sum0 := append([]uint64{}, rd.srv.sum...)
	for name, tc := range cases {
		if err := rd.srv.Handle(tc.from, tc.msg); !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", name, err, tc.want)
		}
	}
	for i := range sum0 {
		if rd.srv.sum[i] != sum0[i] || len(rd.srv.masked) != 0 {
			t.Fatal("server state changed by rejected input")
		}
	}
	// Accept, replay (no effect), then a different second input (refused).
	if err := rd.srv.Handle(1, masked[1]); err != nil {
		t.Fatal(err)
	}
	sum1 := append([]uint64{}, rd.srv.sum...)
	if err := rd.srv.Handle(1, masked[1]); err != nil {
		t.Fatalf("replay: %v", err)
	}
	changed := m
	changed.Vector = append([]uint64{}, m.Vector...)
	changed.Vector[0] ^= 1
	if err := rd.srv.Handle(1, mustMarshal(&changed)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("second different input: %v", err)
	}
	for i := range sum1 {
		if rd.srv.sum[i] != sum1[i] {
			t.Fatal("replayed or refused input changed the sum")
		}
	}
}

// A client saved after each stage and restored continues the round and
// the round's result is still exact.
func TestClientStateRoundTrip(t *testing.T) {
	p := params(7, 9, 30, 11)
	r := rand.New(rand.NewPCG(6, 6))
	inputs := randInputs(r, p)
	rd := newRound(t, p, inputs)
	out := map[ClientID][]byte{}
	for id, c := range rd.clients {
		out[id] = c.Start()
	}
	for s := StageAdvertise; s < StageDone; s++ {
		for id, msg := range out {
			if err := rd.srv.Handle(id, msg); err != nil {
				t.Fatal(err)
			}
		}
		in, err := rd.srv.Advance()
		if err != nil {
			t.Fatal(err)
		}
		out = map[ClientID][]byte{}
		for id, msg := range in {
			// Save and restore every client before every message.
			st, err := rd.clients[id].MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			c, err := RestoreClient(st)
			if err != nil {
				t.Fatalf("restore client %d at %v: %v", id, s, err)
			}
			st2, _ := c.MarshalBinary()
			if !bytes.Equal(st, st2) {
				t.Fatalf("client %d: state differs after a round trip", id)
			}
			rd.clients[id] = c
			reply, err := c.Handle(msg)
			if err != nil {
				t.Fatal(err)
			}
			out[id] = reply
		}
	}
	sum, _, err := rd.srv.Result()
	if err != nil {
		t.Fatal(err)
	}
	all := map[ClientID]bool{}
	for id := range inputs {
		all[id] = true
	}
	exp := expectedSum(p, inputs, all)
	for i := range exp {
		if sum[i] != exp[i] {
			t.Fatalf("sum[%d] = %d, want %d", i, sum[i], exp[i])
		}
	}
	for _, bad := range [][]byte{nil, []byte("MSAC"), []byte("MSAC\x01\x00garbage")} {
		if _, err := RestoreClient(bad); err == nil {
			t.Errorf("RestoreClient(%q) succeeded", bad)
		}
	}
}

// A low-order X25519 key is refused at advertisement, before it can make
// the sender's neighbours fail.
func TestServerRejectsLowOrderKey(t *testing.T) {
	p := params(5, 3, 16, 12)
	s, err := NewServer(p)
	if err != nil {
		t.Fatal(err)
	}
	c, err := newClient(p, 1, make([]uint64, 3), [32]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	var a AdvertiseKeys
	if err := a.UnmarshalBinary(c.Start()); err != nil {
		t.Fatal(err)
	}
	a.Keys.Mask = [32]byte{} // the identity: a low-order point
	if err := s.Handle(1, mustMarshal(&a)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("low-order mask key: %v, want ErrMalformed", err)
	}
	if err := s.Handle(1, c.Start()); err != nil {
		t.Fatalf("good keys after a bad attempt: %v", err)
	}
}

// The server saved and restored between every two steps finishes the
// round with the exact result.
func TestServerStateRoundTrip(t *testing.T) {
	p := params(9, 7, 24, 13)
	r := rand.New(rand.NewPCG(7, 7))
	inputs := randInputs(r, p)
	rd := newRound(t, p, inputs)
	out := map[ClientID][]byte{}
	for id, c := range rd.clients {
		out[id] = c.Start()
	}
	restore := func() {
		st, err := rd.srv.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		s2, err := RestoreServer(st)
		if err != nil {
			t.Fatalf("restore at %v: %v", rd.srv.Stage(), err)
		}
		st2, _ := s2.MarshalBinary()
		if !bytes.Equal(st, st2) || s2.Stage() != rd.srv.Stage() {
			t.Fatalf("restored server differs at %v", rd.srv.Stage())
		}
		rd.srv = s2
	}
	for s := StageAdvertise; s < StageDone; s++ {
		for id, msg := range out {
			if s == StageMaskedInput && id == 4 {
				continue // 4 drops: its masks must be reconstructed after restores
			}
			if err := rd.srv.Handle(id, msg); err != nil {
				t.Fatal(err)
			}
			restore()
		}
		in, err := rd.srv.Advance()
		if err != nil {
			t.Fatal(err)
		}
		restore()
		out = map[ClientID][]byte{}
		for id, msg := range in {
			reply, err := rd.clients[id].Handle(msg)
			if err != nil {
				t.Fatal(err)
			}
			out[id] = reply
		}
	}
	sum, surv, err := rd.srv.Result()
	if err != nil {
		t.Fatal(err)
	}
	want := map[ClientID]bool{}
	for _, id := range surv {
		want[id] = true
	}
	if len(surv) != 8 || want[4] {
		t.Fatalf("survivors %v", surv)
	}
	exp := expectedSum(p, inputs, want)
	for i := range exp {
		if sum[i] != exp[i] {
			t.Fatalf("sum[%d] = %d, want %d", i, sum[i], exp[i])
		}
	}
	for _, bad := range [][]byte{nil, []byte("MSAS"), []byte("MSAS\x01garbage")} {
		if _, err := RestoreServer(bad); err == nil {
			t.Errorf("RestoreServer(%q) succeeded", bad)
		}
	}
}
