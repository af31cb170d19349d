package secagg

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
)

func params(n, length, bits int, round uint64) Params {
	k, th := DefaultGraph(n)
	return Params{RoundID: round, N: n, Threshold: th, Degree: k, ModBits: bits, Len: length}
}

func TestNoDropout(t *testing.T) {
	for _, n := range []int{2, 3, 5, 14, 40} {
		p := params(n, 33, 26, uint64(n))
		r := rand.New(rand.NewPCG(uint64(n), 1))
		if !checkRound(t, p, randInputs(r, p), drops{}) {
			t.Fatalf("n=%d: round without dropout aborted", n)
		}
	}
}

// Dropout at a single stage, for each stage, with a graph large enough to
// absorb it: the result must be the exact sum of the survivors.
func TestDropoutEachStage(t *testing.T) {
	for stage := 0; stage < 5; stage++ {
		p := params(30, 20, 40, 100+uint64(stage))
		r := rand.New(rand.NewPCG(uint64(stage), 2))
		var d drops
		d[stage] = map[ClientID]bool{3: true, 17: true, 25: true}
		if !checkRound(t, p, randInputs(r, p), d) {
			t.Fatalf("stage %d: round aborted", stage)
		}
	}
}

// Random n in 3..200, random drop sets at every stage, random inputs: the
// result is exact or the round aborts exactly when the oracle says so.
func TestRandomRounds(t *testing.T) {
	trials, maxN := 12, 200
	if os.Getenv("MURMUR_SOAK") == "1" {
		trials = 200
	}
	r := rand.New(rand.NewPCG(2026, 4))
	succ, abort := 0, 0
	for trial := range trials {
		n := 3 + r.IntN(maxN-2)
		if trial < 2 {
			n = 3 + trial
		}
		bits := []int{8, 20, 32, 33, 64}[r.IntN(5)]
		p := params(n, 1+r.IntN(40), bits, uint64(trial))
		var rate [5]float64
		for k := range rate {
			rate[k] = r.Float64() * 0.08
		}
		if checkRound(t, p, randInputs(r, p), randDrops(r, n, rate)) {
			succ++
		} else {
			abort++
		}
	}
	t.Logf("%d rounds succeeded, %d aborted as predicted", succ, abort)
	if succ == 0 || abort == 0 {
		t.Errorf("want both outcomes exercised: %d succeeded, %d aborted", succ, abort)
	}
}

func TestBelowThresholdAborts(t *testing.T) {
	p := params(10, 5, 20, 7) // complete graph, T = 5
	r := rand.New(rand.NewPCG(1, 1))
	var d drops
	d[2] = map[ClientID]bool{1: true, 2: true, 3: true, 4: true, 5: true} // 5 of 10 drop before masked input
	rd := newRound(t, p, randInputs(r, p))
	_, _, err := rd.run(d)
	if err == nil {
		t.Fatal("round below threshold succeeded")
	}
	// The server's Abort reaches the clients still in the round; they stop.
	srv2 := newRound(t, p, randInputs(r, p))
	out := map[ClientID][]byte{}
	for id, c := range srv2.clients {
		out[id] = c.Start()
	}
	for s := StageAdvertise; s <= StageMaskedInput; s++ {
		for id, msg := range out {
			if s == StageMaskedInput && d[2][id] {
				continue
			}
			if err := srv2.srv.Handle(id, msg); err != nil {
				t.Fatal(err)
			}
		}
		in, aerr := srv2.srv.Advance()
		if s == StageMaskedInput {
			if aerr == nil || len(in) != 5 {
				t.Fatalf("want an abort to the 5 survivors, got %d messages, err %v", len(in), aerr)
			}
			for id, msg := range in {
				if _, err := srv2.clients[id].Handle(msg); !errors.Is(err, ErrAborted) || srv2.clients[id].Err() == nil {
					t.Fatalf("client %d after Abort: %v", id, err)
				}
			}
			break
		}
		out = map[ClientID][]byte{}
		for id, msg := range in {
			reply, herr := srv2.clients[id].Handle(msg)
			if herr != nil {
				t.Fatal(herr)
			}
			out[id] = reply
		}
	}
	t.Logf("abort: %v", err)
	if rd.srv.Stage() != StageAborted || rd.srv.Err() == nil {
		t.Fatalf("server stage %v after abort", rd.srv.Stage())
	}
	if _, _, err := rd.srv.Result(); err == nil {
		t.Fatal("Result after abort returned no error")
	}
}

func TestGraphFor(t *testing.T) {
	if k, th := GraphFor(1000, 0.05); k != 30 || th != 17 {
		t.Errorf("GraphFor(1000, 5%%) = %d, %d; want the reference 30, 17", k, th)
	}
	k, th := GraphFor(1000, 0.3)
	if k <= 30 || k%2 != 0 || th != 17 {
		t.Errorf("GraphFor(1000, 30%%) = %d, %d; want an even K > 30 and T 17", k, th)
	}
	if k, _ := GraphFor(10, 0.3); k != 9 {
		t.Errorf("GraphFor(10, 30%%) K = %d, want the complete graph", k)
	}
	t.Logf("GraphFor(1000, 0.3) = %d, %d; GraphFor(100, 0.3) = %v", k, th, fmt.Sprint(GraphFor(100, 0.3)))
}

func TestPending(t *testing.T) {
	p := params(5, 2, 16, 21)
	r := rand.New(rand.NewPCG(2, 2))
	rd := newRound(t, p, randInputs(r, p))
	if got := rd.srv.Pending(); len(got) != 5 {
		t.Fatalf("pending at start %v, want all 5", got)
	}
	out := map[ClientID][]byte{}
	for id, c := range rd.clients {
		out[id] = c.Start()
	}
	for s := StageAdvertise; s < StageDone; s++ {
		for id, msg := range out {
			if s == StageMaskedInput && id == 2 {
				continue
			}
			if err := rd.srv.Handle(id, msg); err != nil {
				t.Fatal(err)
			}
		}
		pend := rd.srv.Pending()
		if s == StageMaskedInput {
			if len(pend) != 1 || pend[0] != 2 {
				t.Fatalf("masked-input stage pending %v, want [2]", pend)
			}
		} else if len(pend) != 0 {
			t.Fatalf("stage %v pending %v, want none", s, pend)
		}
		in, err := rd.srv.Advance()
		if err != nil {
			t.Fatal(err)
		}
		out = map[ClientID][]byte{}
		for id, msg := range in {
			if out[id], err = rd.clients[id].Handle(msg); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := rd.srv.Pending(); got != nil {
		t.Fatalf("pending after the end %v", got)
	}
}
