package secagg

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
)

// seedFor is a fixed per-client seed for reproducible tests.
func seedFor(round uint64, id ClientID) [32]byte {
	var b [12]byte
	binary.LittleEndian.PutUint64(b[:], round)
	binary.LittleEndian.PutUint32(b[8:], uint32(id))
	return sha256.Sum256(b[:])
}

func randInputs(r *rand.Rand, p Params) map[ClientID][]uint64 {
	in := map[ClientID][]uint64{}
	for id := 1; id <= p.N; id++ {
		v := make([]uint64, p.Len)
		for i := range v {
			v[i] = r.Uint64() & p.mask()
		}
		in[ClientID(id)] = v
	}
	return in
}

// drops[k] is the set of clients that vanish just before sending their
// stage-k message (k = 0 advertise .. 4 unmask).
type drops [5]map[ClientID]bool

type round struct {
	t       testing.TB
	p       Params
	srv     *Server
	clients map[ClientID]*Client
	gone    map[ClientID]bool
	// tamper, when set, may replace a client's stage-k message on its way
	// to the server (a malicious client).
	tamper func(stage int, from ClientID, msg []byte) []byte
}

func newRound(t testing.TB, p Params, inputs map[ClientID][]uint64) *round {
	t.Helper()
	srv, err := NewServer(p)
	if err != nil {
		t.Fatal(err)
	}
	rd := &round{t: t, p: p, srv: srv, clients: map[ClientID]*Client{}, gone: map[ClientID]bool{}}
	for id, in := range inputs {
		c, err := newClient(p, id, in, seedFor(p.RoundID, id))
		if err != nil {
			t.Fatal(err)
		}
		rd.clients[id] = c
	}
	return rd
}

// run drives the round to the end and returns the server's result or the
// error that aborted it. Client-side errors other than aborts fail the test.
func (rd *round) run(d drops) ([]uint64, []ClientID, error) {
	t := rd.t
	t.Helper()
	outbox := map[ClientID][]byte{}
	for id, c := range rd.clients {
		outbox[id] = c.Start()
	}
	for stage := 0; stage < 5; stage++ {
		for id, msg := range outbox {
			if d[stage][id] {
				rd.gone[id] = true
				continue
			}
			if rd.tamper != nil {
				msg = rd.tamper(stage, id, msg)
			}
			if err := rd.srv.Handle(id, msg); err != nil {
				t.Fatalf("stage %d: server rejected client %d: %v", stage, id, err)
			}
		}
		in, err := rd.srv.Advance()
		if err != nil {
			return nil, nil, err
		}
		outbox = map[ClientID][]byte{}
		for id, msg := range in {
			if rd.gone[id] {
				continue
			}
			reply, err := rd.clients[id].Handle(msg)
			if err != nil {
				t.Fatalf("stage %d: client %d: %v", stage, id, err)
			}
			outbox[id] = reply
		}
	}
	return rd.srv.Result()
}

// oracle says independently of the server code whether the round must
// succeed under the drop sets, and which clients' inputs the sum holds.
func oracle(p Params, d drops) (ok bool, survivors map[ClientID]bool) {
	g := newGraph(p)
	alive := map[ClientID]bool{}
	for i := 1; i <= p.N; i++ {
		alive[ClientID(i)] = true
	}
	var sets [6]map[ClientID]bool
	for k := 0; k < 5; k++ {
		next := map[ClientID]bool{}
		for id := range alive {
			if !d[k][id] {
				next[id] = true
			}
		}
		alive = next
		sets[k+1] = alive
		if k == 4 {
			break
		}
		if len(alive) == 0 {
			return false, nil
		}
		for id := range alive {
			n := 0
			for _, j := range g.neighbours(id) {
				if alive[j] {
					n++
				}
			}
			if n < p.Threshold {
				return false, nil
			}
		}
	}
	u2, u3, u5 := sets[2], sets[3], sets[5]
	if len(u5) == 0 {
		return false, nil
	}
	for j := range u2 {
		need := u3[j]
		live5 := 0
		for _, i := range g.neighbours(j) {
			need = need || u3[i]
			if u5[i] {
				live5++
			}
		}
		if need && live5 < p.Threshold {
			return false, nil
		}
	}
	return true, u3
}

func expectedSum(p Params, inputs map[ClientID][]uint64, surv map[ClientID]bool) []uint64 {
	s := make([]uint64, p.Len)
	for id := range surv {
		for i, v := range inputs[id] {
			s[i] = (s[i] + v) & p.mask()
		}
	}
	return s
}

func randDrops(r *rand.Rand, n int, rate [5]float64) drops {
	var d drops
	for k := range d {
		d[k] = map[ClientID]bool{}
		for i := 1; i <= n; i++ {
			if r.Float64() < rate[k] {
				d[k][ClientID(i)] = true
			}
		}
	}
	return d
}

func checkRound(t *testing.T, p Params, inputs map[ClientID][]uint64, d drops) (succeeded bool) {
	t.Helper()
	rd := newRound(t, p, inputs)
	sum, surv, err := rd.run(d)
	ok, want := oracle(p, d)
	if !ok {
		if err == nil {
			t.Fatalf("n=%d: round succeeded but the oracle says it must abort", p.N)
		}
		if !errors.Is(err, ErrTooFewSurvivors) {
			t.Fatalf("n=%d: abort error %v is not ErrTooFewSurvivors", p.N, err)
		}
		return false
	}
	if err != nil {
		t.Fatalf("n=%d: round aborted but the oracle says it succeeds: %v", p.N, err)
	}
	if len(surv) != len(want) {
		t.Fatalf("n=%d: %d survivors, want %d", p.N, len(surv), len(want))
	}
	for _, id := range surv {
		if !want[id] {
			t.Fatalf("n=%d: survivor %d not expected", p.N, id)
		}
	}
	exp := expectedSum(p, inputs, want)
	for i := range exp {
		if sum[i] != exp[i] {
			t.Fatalf("n=%d: sum[%d] = %d, want %d", p.N, i, sum[i], exp[i])
		}
	}
	return true
}
