// Package relay is the `murmur bench relay` suite (DESIGN.md rows
// relay/sessions/rss-per-session in KiB and relay/aggregate in MB/s):
//
//   - relay/sessions/rss-per-session: resident memory per idle device
//     session, from the process RSS before and after opening n sessions
//     (n = 9,000 full, 200 quick) against an in-process relay. The devices
//     are raw TCP WebSocket clients that hold only a socket, so nearly all
//     of the growth is the relay's; extra keys: n, heap_kib (Go heap+stacks
//     per session), rss_mib (total).
//   - relay/aggregate/<rule>: plaintext aggregation throughput (MB/s of
//     float32 update payload): decode, NaN/Inf check and accumulate, exactly
//     the round's path (relay.Aggregator), for mean (FedAvg), median and
//     trimmed mean.
//   - relay/round/updates-per-s: one round with n devices (1,000 full, 20
//     quick) over loopback WebSockets with the real client: tasks, model
//     download, resumable upload, aggregation, commit. Extra: mb_per_s.
//   - relay/resume/latency: milliseconds from a cut upload's link returning
//     to its next acknowledged chunk (backoff set to 1 ms, so this is the
//     reconnect + resume cost).
package relay

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/murmur-fl/murmur/internal/bench"
	"github.com/murmur-fl/murmur/sync/client"
	"github.com/murmur-fl/murmur/sync/relay"
)

func init() {
	bench.Register(bench.Suite{
		Name: "relay",
		Doc:  "relay: memory per idle session, aggregation MB/s, round throughput, resume latency",
		Run:  run,
	})
}

func run(ctx context.Context, cfg bench.Config, emit func(bench.Result)) error {
	for _, f := range []func(context.Context, bench.Config, func(bench.Result)) error{sessions, aggregate, roundThroughput, resume} {
		if err := f(ctx, cfg, emit); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

var secret = relay.HMACTokens{Secret: []byte("bench")}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type server struct {
	r    *relay.Relay
	addr string
}

func start(cfg relay.Config) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cfg.Auth, cfg.Logger = secret, quiet()
	r, err := relay.New(cfg)
	if err != nil {
		ln.Close()
		return nil, err
	}
	go r.Serve(ln)
	return &server{r: r, addr: ln.Addr().String()}, nil
}

func (s *server) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s.r.Shutdown(ctx)
}

func goMem() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

func sessions(ctx context.Context, cfg bench.Config, emit func(bench.Result)) error {
	n := 9000
	if cfg.Quick {
		n = 200
	}
	if lim := raiseFileLimit(); lim > 0 && 2*n+256 > lim {
		n = (lim - 256) / 2
	}
	s, err := start(relay.Config{InitialParams: make([]float32, 16), MaxSessions: n + 10,
		Round: relay.RoundConfig{Goal: 1 << 30, SelectWait: time.Hour}})
	if err != nil {
		return err
	}
	defer s.stop()
	// Warm up the relay's paths once so one-off allocations are not counted.
	if c, err := dialRaw(s.addr, "warm"); err == nil {
		c.Close()
	}
	rss0, heap0 := rss(), goMem()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	t0 := time.Now()
	for i := range n {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c, err := dialRaw(s.addr, fmt.Sprintf("s%d", i))
		if err != nil {
			return fmt.Errorf("session %d: %w", i, err)
		}
		conns = append(conns, c)
	}
	if got := s.r.Status().Sessions; got != n {
		return fmt.Errorf("relay holds %d sessions, want %d", got, n)
	}
	time.Sleep(200 * time.Millisecond)
	rss1, heap1 := rss(), goMem()
	per := float64(int64(rss1)-int64(rss0)) / 1024 / float64(n)
	heapPer := float64(int64(heap1)-int64(heap0)) / 1024 / float64(n)
	source := "rss"
	if per <= 0 {
		// With few sessions the process's own RSS noise (memory returned
		// to the OS) can outweigh them: fall back to the Go heap's view.
		per, source = heapPer, "go-heap"
	}
	fmt.Fprintf(cfg.Log, "relay: %d sessions opened in %v, RSS %d -> %d MiB\n", n, time.Since(t0).Round(time.Millisecond), rss0>>20, rss1>>20)
	emit(bench.Result{Bench: "relay/sessions/rss-per-session", Value: per, Unit: "KiB",
		Extra: map[string]any{"n": n, "heap_kib": heapPer, "rss_mib": float64(rss1) / (1 << 20), "source": source}})
	return nil
}

func aggregate(ctx context.Context, cfg bench.Config, emit func(bench.Result)) error {
	dim, ups := 1<<20, 16 // 4 MiB updates
	if cfg.Quick {
		dim, ups = 1<<16, 4
	}
	r := rand.New(rand.NewPCG(1, 2))
	payloads := make([][]byte, ups)
	for i := range payloads {
		v := make([]float32, dim)
		for j := range v {
			v[j] = r.Float32() - 0.5
		}
		payloads[i] = relay.EncodeFloat32(v)
	}
	mb := float64(ups*4*dim) / 1e6
	for _, rule := range []string{"mean", "median", "trimmed"} {
		var err error
		st := bench.Time(5, 3*time.Second, func() {
			a, e := relay.NewAggregator(relay.RuleConfig{Name: rule}, dim, nil)
			if e != nil {
				err = e
				return
			}
			for _, p := range payloads {
				if e := a.Add(p, 10); e != nil {
					err = e
				}
			}
			if a.Result() == nil {
				err = fmt.Errorf("no result")
			}
		})
		if err != nil {
			return err
		}
		ex := st.Extra(mb)
		ex["updates"], ex["d"] = ups, dim
		emit(bench.Result{Bench: "relay/aggregate/" + rule, Value: st.Rate(mb), Unit: "MB/s", Extra: ex})
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

func roundThroughput(ctx context.Context, cfg bench.Config, emit func(bench.Result)) error {
	n, dim := 1000, 1<<14 // 64 KiB updates
	if cfg.Quick {
		n, dim = 20, 1<<12
	}
	done := make(chan relay.RoundEvent, 1)
	s, err := start(relay.Config{InitialParams: make([]float32, dim), Round: relay.RoundConfig{Goal: n, MinReports: n, OverSelect: 1,
		SelectWait: time.Minute, Deadline: 5 * time.Minute}, Rate: 1e6, Burst: 1e6, OnRound: func(e relay.RoundEvent) { done <- e }})
	if err != nil {
		return err
	}
	defer s.stop()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	var startOnce sync.Once
	var t0 time.Time
	cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	payload := relay.EncodeFloat32(make([]float32, dim))
	for i := range n {
		id := fmt.Sprintf("r%d", i)
		c, err := client.New(client.Config{URL: "ws://" + s.addr + "/ws", Token: secret.Issue(id), DeviceID: id, Logger: quiet()})
		if err != nil {
			return err
		}
		defer c.Abort()
		wg.Add(1)
		go func() {
			defer wg.Done()
			t, err := c.NextTask(cctx, 0)
			if err != nil {
				errs <- err
				return
			}
			startOnce.Do(func() { t0 = time.Now() })
			if _, err := c.Download(cctx, t.ModelHash); err != nil {
				errs <- err
				return
			}
			if err := c.Upload(cctx, t, 1, payload); err != nil {
				errs <- err
			}
		}()
	}
	var ev relay.RoundEvent
	select {
	case ev = <-done:
	case err := <-errs:
		return err
	case <-cctx.Done():
		return fmt.Errorf("round with %d devices did not finish: %w", n, cctx.Err())
	}
	secs := time.Since(t0).Seconds()
	wg.Wait()
	if !ev.Committed || ev.Reported != n {
		return fmt.Errorf("round: %+v", ev)
	}
	emit(bench.Result{Bench: "relay/round/updates-per-s", Value: float64(n) / secs, Unit: "updates/s",
		Extra: map[string]any{"n": n, "d": dim, "seconds": secs, "mb_per_s": float64(n*len(payload)) / 1e6 / secs}})
	return nil
}

func resume(ctx context.Context, cfg bench.Config, emit func(bench.Result)) error {
	reps := 20
	if cfg.Quick {
		reps = 3
	}
	const dim, chunk = 1 << 16, 4096
	s, err := start(relay.Config{InitialParams: make([]float32, dim), Round: relay.RoundConfig{Goal: 1, MinReports: 1, OverSelect: 1,
		Deadline: time.Hour}})
	if err != nil {
		return err
	}
	defer s.stop()
	var mu sync.Mutex
	var cutAt time.Time
	var lat []time.Duration
	var c *client.Client
	acks := 0
	c, err = client.New(client.Config{URL: "ws://" + s.addr + "/ws", Token: secret.Issue("x"), DeviceID: "x", Logger: quiet(),
		ChunkSize: chunk, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond,
		OnProgress: func(p client.Progress) {
			if p.Stage != "upload" {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if !cutAt.IsZero() {
				lat = append(lat, time.Since(cutAt))
				cutAt = time.Time{}
			}
			acks++
			if acks%8 == 0 && len(lat) < reps {
				cutAt = time.Now()
				go c.Drop()
			}
		}})
	if err != nil {
		return err
	}
	defer c.Abort()
	t, err := c.NextTask(ctx, 0)
	if err != nil {
		return err
	}
	if err := c.Upload(ctx, t, 1, relay.EncodeFloat32(make([]float32, dim))); err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lat) == 0 {
		return fmt.Errorf("resume: no cut measured")
	}
	slicesSort(lat)
	emit(bench.Result{Bench: "relay/resume/latency", Value: float64(lat[len(lat)/2].Microseconds()) / 1000, Unit: "ms",
		Extra: map[string]any{"runs": len(lat), "min": float64(lat[0].Microseconds()) / 1000, "max": float64(lat[len(lat)-1].Microseconds()) / 1000}})
	return nil
}
