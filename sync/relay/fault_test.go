package relay_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/murmur-fl/murmur/sync/client"
	"github.com/murmur-fl/murmur/sync/relay"
	"github.com/murmur-fl/murmur/sync/wire"
)

// proxy starts an embedded toxiproxy in front of the relay (real TCP).
func (h *harness) proxy() *toxiproxy.Proxy {
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, "relay", "127.0.0.1:0", h.addr)
	if err := p.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(p.Stop)
	return p
}

func soak() bool { return os.Getenv("MURMUR_SOAK") == "1" }

// TestCutsDuringTransfers cuts the link at random byte counts while the
// device downloads the model and uploads its update, over several rounds.
// Checked: the committed model equals the one computed from the device's
// exact bytes (so the relay's copy hashes equal), acknowledged offsets only
// grow, and bytes re-sent are at most one chunk per cut.
func TestCutsDuringTransfers(t *testing.T) {
	cuts := 50
	if soak() {
		cuts = 500
	}
	const dim = 256 << 10 // 1 MiB model and update
	const chunk = 32 << 10
	h := startRelay(t, relay.Config{InitialParams: fill(dim, 0), ChunkSize: chunk,
		Round: relay.RoundConfig{Goal: 1, MinReports: 1, OverSelect: 1, Deadline: 5 * time.Minute}})
	p := h.proxy()
	var lastUp, lastDown atomic.Int64
	var shrink atomic.Bool
	c := h.client("dev", func(cfg *client.Config) {
		cfg.URL = "ws://" + p.Listen + "/ws"
		cfg.ChunkSize = chunk
		cfg.OnProgress = func(pr client.Progress) {
			last := &lastDown
			if pr.Stage == "upload" {
				last = &lastUp
			}
			if pr.Done < last.Load() {
				shrink.Store(true)
			}
			last.Store(pr.Done)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// The cutter: a limit_data toxic of random size on a random direction,
	// removed once the client noticed the cut.
	done := make(chan struct{})
	var made atomic.Int64
	go func() {
		for made.Load() < int64(cuts) {
			select {
			case <-done:
				return
			default:
			}
			dir := "downstream"
			if rand.IntN(2) == 0 {
				dir = "upstream"
			}
			before := c.Stats().Cuts
			js := fmt.Sprintf(`{"name":"cut","type":"limit_data","stream":%q,"attributes":{"bytes":%d}}`, dir, 200+rand.IntN(3*chunk))
			if _, err := p.Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
				t.Error(err)
				return
			}
			deadline := time.Now().Add(2 * time.Second)
			for c.Stats().Cuts == before && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			p.Toxics.RemoveToxic(context.Background(), "cut")
			if c.Stats().Cuts > before {
				made.Add(1)
			}
		}
	}()
	defer close(done)

	want := fill(dim, 0)
	var after uint64
	var payloadBytes, fetchBytes int64
	for round := 1; made.Load() < int64(cuts); round++ {
		lastUp.Store(0)
		lastDown.Store(0)
		task, err := c.NextTask(ctx, after)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		blob, err := c.Download(ctx, task.ModelHash)
		if err != nil {
			t.Fatalf("round %d download: %v", round, err)
		}
		fetchBytes += int64(len(blob))
		if sha256.Sum256(blob) != task.ModelHash || sha256.Sum256(relay.EncodeFloat32(want)) != task.ModelHash {
			t.Fatalf("round %d: downloaded model differs from the expected one", round)
		}
		delta := make([]float32, dim)
		for i := range delta {
			delta[i] = rand.Float32()
		}
		payload := relay.EncodeFloat32(delta)
		if err := c.Upload(ctx, task, 1, payload); err != nil {
			t.Fatalf("round %d upload: %v", round, err)
		}
		payloadBytes += int64(len(payload))
		for i := range want {
			want[i] += delta[i]
		}
		end, err := c.WaitRoundEnd(ctx, task.Round)
		if err != nil || !end.Committed {
			t.Fatalf("round %d end: %+v %v", round, end, err)
		}
		if end.ModelHash != sha256.Sum256(relay.EncodeFloat32(want)) {
			t.Fatalf("round %d: committed model differs from the device's bytes", round)
		}
		after = task.Round
	}
	st := c.Stats()
	t.Logf("%d cuts (client saw %d), %d rounds, sent %d bytes for %d payload, fetched %d for %d",
		made.Load(), st.Cuts, after, st.BytesSent, payloadBytes, st.BytesFetched, fetchBytes)
	if shrink.Load() {
		t.Fatal("an acknowledged offset went backwards")
	}
	if resent := st.BytesSent - payloadBytes; resent > int64(st.Cuts)*chunk {
		t.Fatalf("re-sent %d upload bytes over %d cuts: more than one chunk per cut", resent, st.Cuts)
	}
	if refetched := st.BytesFetched - fetchBytes; refetched > int64(st.Cuts)*chunk {
		t.Fatalf("re-fetched %d bytes over %d cuts", refetched, st.Cuts)
	}
}

// TestResetPeersOverRounds runs several devices through a proxy that resets
// connections at random over many rounds: every update the relay
// acknowledged is in the aggregate exactly once (the committed model is the
// weighted mean of exactly the acknowledged updates, which distinct values
// make sensitive to any double count or omission).
func TestResetPeersOverRounds(t *testing.T) {
	rounds, devices := 20, 6
	if soak() {
		rounds = 40
	}
	const dim = 16384
	var mu sync.Mutex
	commits := map[uint64][]float32{}
	h := startRelay(t, relay.Config{InitialParams: fill(dim, 0), ChunkSize: 4096,
		Round:    relay.RoundConfig{Goal: devices, MinReports: 1, OverSelect: 1, Deadline: 3 * time.Second, SelectWait: 200 * time.Millisecond, Rounds: uint64(rounds)},
		OnCommit: func(round, _ uint64, p []float32) { mu.Lock(); commits[round] = p; mu.Unlock() }})
	p := h.proxy()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	type ack struct {
		value    float32
		examples uint64
	}
	acked := map[uint64][]ack{}
	var wg sync.WaitGroup
	var clients []*client.Client
	stop := make(chan struct{})
	// Reset peers at random.
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(5+rand.IntN(25)) * time.Millisecond):
			}
			js := fmt.Sprintf(`{"name":"rst","type":"reset_peer","stream":"upstream","toxicity":0.5,"attributes":{"timeout":%d}}`, rand.IntN(30))
			p.Toxics.AddToxicJson(strings.NewReader(js))
			time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond)
			p.Toxics.RemoveToxic(context.Background(), "rst")
		}
	}()
	for i := 1; i <= devices; i++ {
		c := h.client(fmt.Sprintf("dev%d", i), func(cfg *client.Config) {
			cfg.URL = "ws://" + p.Listen + "/ws"
			cfg.ChunkSize = 4096
		})
		clients = append(clients, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var after uint64
			for after < uint64(rounds) {
				tctx, tcancel := context.WithTimeout(ctx, 4*time.Second)
				task, err := c.NextTask(tctx, after)
				tcancel()
				if err != nil {
					return
				}
				after = task.Round
				if _, err := c.Download(ctx, task.ModelHash); err != nil {
					continue
				}
				v := float32(i*1000) + float32(task.Round)
				ex := uint64(i)
				err = c.Upload(ctx, task, ex, relay.EncodeFloat32(fill(dim, v)))
				if err == nil {
					mu.Lock()
					acked[task.Round] = append(acked[task.Round], ack{v, ex})
					mu.Unlock()
				} else if we, ok := err.(*wire.Error); !ok || (we.Code != wire.CodeLate && we.Code != wire.CodeWrongRound) {
					t.Errorf("device %d round %d: %v", i, task.Round, err)
				}
			}
		}()
	}
	evs := map[uint64]relay.RoundEvent{}
	for len(evs) < rounds {
		e := h.event(time.Minute)
		evs[e.Round] = e
	}
	wg.Wait() // devices finish their last uploads (a lost final ack is learned on resume)
	close(stop)
	mu.Lock()
	defer mu.Unlock()
	model := fill(dim, 0)
	nCommitted := 0
	for r := uint64(1); r <= uint64(rounds); r++ {
		e := evs[r]
		if !e.Committed {
			if len(commits[r]) != 0 {
				t.Fatalf("round %d abandoned but committed", r)
			}
			continue
		}
		nCommitted++
		var sw, s float64
		for _, a := range acked[r] {
			sw += float64(a.examples)
			s += float64(a.examples) * float64(a.value)
		}
		if len(acked[r]) != e.Reported {
			t.Fatalf("round %d: relay counted %d updates, devices saw %d acknowledged", r, e.Reported, len(acked[r]))
		}
		want := model[0] + float32(s/sw)
		got := commits[r]
		if d := got[0] - want; d > 1e-2 || d < -1e-2 {
			t.Fatalf("round %d: committed %v, want %v (acked %v)", r, got[0], want, acked[r])
		}
		model = got
	}
	cuts := 0
	for _, c := range clients {
		cuts += c.Stats().Cuts
	}
	if nCommitted == 0 || cuts == 0 {
		t.Fatalf("%d rounds committed, %d links reset: the test did not exercise resets", nCommitted, cuts)
	}
	t.Logf("%d/%d rounds committed under %d random resets", nCommitted, rounds, cuts)
}
