package relay_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/murmur-fl/murmur/sync/client"
	"github.com/murmur-fl/murmur/sync/relay"
	"github.com/murmur-fl/murmur/sync/wire"
)

var secret = relay.HMACTokens{Secret: []byte("test-secret")}

func quietLogger() *slog.Logger {
	if os.Getenv("MURMUR_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type harness struct {
	t      *testing.T
	r      *relay.Relay
	addr   string
	events chan relay.RoundEvent
}

func startRelay(t *testing.T, cfg relay.Config) *harness {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, addr: ln.Addr().String(), events: make(chan relay.RoundEvent, 1000)}
	if cfg.Auth == nil {
		cfg.Auth = secret
	}
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	prev := cfg.OnRound
	cfg.OnRound = func(e relay.RoundEvent) {
		if prev != nil {
			prev(e)
		}
		h.events <- e
	}
	h.r, err = relay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	go h.r.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h.r.Shutdown(ctx)
	})
	return h
}

func (h *harness) url() string { return "ws://" + h.addr + "/ws" }

func (h *harness) client(id string, mod func(*client.Config)) *client.Client {
	cfg := client.Config{URL: h.url(), Token: secret.Issue(id), DeviceID: id, Logger: quietLogger(),
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Caps: wire.Capabilities{Platform: "test"}}
	if mod != nil {
		mod(&cfg)
	}
	c, err := client.New(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { c.Abort() })
	return c
}

func (h *harness) event(timeout time.Duration) relay.RoundEvent {
	h.t.Helper()
	select {
	case e := <-h.events:
		return e
	case <-time.After(timeout):
		h.t.Fatalf("no round event within %v", timeout)
		return relay.RoundEvent{}
	}
}

func fill(n int, v float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// device runs one round for a client: wait for its task, download the
// model, upload delta = value for every coordinate, weighted by examples.
func device(ctx context.Context, c *client.Client, after uint64, value float32, examples uint64) (*wire.Task, error) {
	t, err := c.NextTask(ctx, after)
	if err != nil {
		return nil, err
	}
	blob, err := c.Download(ctx, t.ModelHash)
	if err != nil {
		return t, fmt.Errorf("download: %w", err)
	}
	delta := fill(len(blob)/4, value)
	return t, c.Upload(ctx, t, examples, relay.EncodeFloat32(delta))
}

func TestRoundCommitsWeightedMean(t *testing.T) {
	const dim = 1000
	var committed []float32
	var mu sync.Mutex
	h := startRelay(t, relay.Config{InitialParams: fill(dim, 1), Round: relay.RoundConfig{Goal: 3, MinReports: 3, OverSelect: 1, Deadline: 20 * time.Second},
		OnCommit: func(_, _ uint64, p []float32) { mu.Lock(); committed = p; mu.Unlock() }})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for i := 1; i <= 3; i++ {
		c := h.client(fmt.Sprintf("dev%d", i), nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			t, err := device(ctx, c, 0, float32(i), uint64(i*100))
			if err != nil {
				errs <- err
				return
			}
			end, err := c.WaitRoundEnd(ctx, t.Round)
			if err != nil || !end.Committed || end.ModelVersion != 2 {
				errs <- fmt.Errorf("round end %+v %v", end, err)
			}
		}()
	}
	ev := h.event(30 * time.Second)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if !ev.Committed || ev.Reported != 3 || ev.Selected != 3 || ev.Dropped != 0 || ev.BytesUp <= 3*4*dim {
		t.Fatalf("event %+v", ev)
	}
	// weighted mean of 1,2,3 with weights 100,200,300 = 14/6
	want := float32(1 + 14.0/6)
	mu.Lock()
	defer mu.Unlock()
	if len(committed) != dim || math.Abs(float64(committed[7]-want)) > 1e-5 {
		t.Fatalf("committed[7] = %v, want %v", committed[7], want)
	}
	m := h.r.Model()
	if m.Version != 2 || m.Params[0] != committed[0] {
		t.Fatalf("model %d", m.Version)
	}
	// the committed model is served by hash, cacheable
	resp, err := http.Get("http://" + h.addr + "/v1/blobs/" + m.Hash.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || resp.ContentLength != 4*dim {
		t.Fatalf("blob GET: %d %v %d", resp.StatusCode, resp.Header, resp.ContentLength)
	}
}
