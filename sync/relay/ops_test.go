package relay_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/murmur-fl/murmur/sync/client"
	"github.com/murmur-fl/murmur/sync/relay"
	"github.com/murmur-fl/murmur/sync/wire"
)

// TestPaceSteering: at its session limit the relay answers RetryLater and
// closes with busy; the client waits inside the window before returning.
func TestPaceSteering(t *testing.T) {
	h := startRelay(t, relay.Config{InitialParams: fill(4, 0), MaxSessions: 1, RetrySpread: time.Second,
		Round: relay.RoundConfig{Goal: 10, SelectWait: time.Hour}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	first, _, err := h.dial(ctx, secret.Issue("first"))
	if err != nil {
		t.Fatal(err)
	}
	first.hello(ctx, "first")
	second, _, err := h.dial(ctx, secret.Issue("second"))
	if err != nil {
		t.Fatal(err)
	}
	rl := expect[*wire.RetryLater](ctx, second)
	if rl.MinMs < 1000 || rl.MaxMs < rl.MinMs || rl.MaxMs > 2000 {
		t.Fatalf("retry window %+v", rl)
	}
	if got := second.closeStatus(ctx); got != websocket.StatusCode(wire.CodeBusy.CloseStatus()) {
		t.Fatalf("close status %d, want busy", got)
	}
	// A real client honours the window: no second attempt before MinMs.
	t0 := time.Now()
	c := h.client("third", nil)
	time.Sleep(300 * time.Millisecond)
	first.ws.CloseNow() // make room
	for c.Stats().Connects == 0 {
		if ctx.Err() != nil {
			t.Fatal("client never connected")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if waited := time.Since(t0); waited < time.Duration(rl.MinMs)*time.Millisecond {
		t.Fatalf("client came back after %v, inside the relay's %dms minimum", waited, rl.MinMs)
	}
}

// TestOperations covers /healthz, /metrics, /v1/model and a graceful
// shutdown that tells connected devices to retry later.
func TestOperations(t *testing.T) {
	h := startRelay(t, relay.Config{InitialParams: fill(4, 1), Round: relay.RoundConfig{Goal: 10, SelectWait: time.Hour}})
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + h.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("healthz %d %q", code, body)
	}
	c := h.client("m1", nil)
	for c.Stats().Connects == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	h.dial(context.Background(), "bogus.token") // one rejection
	code, body := get("/metrics")
	for _, want := range []string{"murmur_relay_sessions 1", `murmur_relay_connects_total{kind="new"} 1`, `murmur_relay_rejections_total{code="unauthorized"} 1`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Fatalf("metrics lack %q:\n%s", want, body)
		}
	}
	if code, body := get("/v1/model"); code != 200 || !strings.Contains(body, `"version":1`) {
		t.Fatalf("model %d %s", code, body)
	}
	if code, _ := get("/v1/blobs/zz"); code != http.StatusBadRequest {
		t.Fatalf("bad hash: %d", code)
	}
	if code, _ := get("/v1/blobs/" + strings.Repeat("0", 64)); code != http.StatusNotFound {
		t.Fatalf("unknown blob: %d", code)
	}
	core := []byte("\x00asm core module")
	hash := h.r.AddBlob(core)
	if code, body := get("/v1/blobs/" + hash.String()); code != 200 || body != string(core) {
		t.Fatalf("core blob: %d", code)
	}
	// Downloads over the protocol work for any blob by hash, too.
	got, err := c.Download(context.Background(), hash)
	if err != nil || string(got) != string(core) {
		t.Fatalf("download core: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.r.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Second); c.Stats().Cuts == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("client not disconnected by shutdown: %+v", c.Stats())
		}
	}
	rec := httptest.NewRecorder()
	h.r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("healthz after shutdown: %d", rec.Code)
	}
}

// TestEligibility: only devices reporting the required capability flags
// are selected.
func TestEligibility(t *testing.T) {
	h := startRelay(t, relay.Config{InitialParams: fill(4, 0),
		Round: relay.RoundConfig{Goal: 1, MinReports: 1, OverSelect: 1, Require: wire.CapCharging | wire.CapUnmetered, Deadline: 5 * time.Second}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	busy, _, _ := h.dial(ctx, secret.Issue("metered"))
	busy.send(ctx, &wire.Hello{Protocol: wire.Protocol, DeviceID: "metered", Caps: wire.Capabilities{Flags: wire.CapCharging}})
	expect[*wire.Welcome](ctx, busy)
	ok, _, _ := h.dial(ctx, secret.Issue("plugged"))
	ok.send(ctx, &wire.Hello{Protocol: wire.Protocol, DeviceID: "plugged", Caps: wire.Capabilities{Flags: wire.CapCharging | wire.CapUnmetered}})
	expect[*wire.Welcome](ctx, ok)
	if task := expect[*wire.Task](ctx, ok); task.Participants != 1 {
		t.Fatalf("task %+v", task)
	}
	st := h.r.Status()
	if st.Selected != 1 || st.Stage != "collecting" {
		t.Fatalf("status %+v", st)
	}
	short, cancel2 := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel2()
	if m, err := busy.recv(short); err == nil {
		t.Fatalf("ineligible device got %v", m.Type())
	}
}

// pickyCoordinator selects only "phone" devices and applies twice the delta:
// the seam a root coordinator of many relays would use.
type pickyCoordinator struct{ applied chan float64 }

func (p pickyCoordinator) Select(_ uint64, eligible []relay.DeviceInfo, want int) []string {
	var out []string
	for _, d := range eligible {
		if d.Caps.Platform == "phone" && len(out) < want {
			out = append(out, d.ID)
		}
	}
	return out
}

func (p pickyCoordinator) Apply(_ uint64, cur relay.Committed, delta []float32, weight float64, reported int) ([]float32, []byte, error) {
	out := make([]float32, len(cur.Params))
	for i := range out {
		out[i] = cur.Params[i] + 2*delta[i]
	}
	p.applied <- weight
	return out, nil, nil
}

func TestCustomCoordinator(t *testing.T) {
	pc := pickyCoordinator{applied: make(chan float64, 1)}
	h := startRelay(t, relay.Config{InitialParams: fill(4, 0), Coordinator: pc,
		Round: relay.RoundConfig{Goal: 1, MinReports: 1, OverSelect: 2, SelectWait: 100 * time.Millisecond}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h.client("laptop", nil) // platform "test": never selected
	phone := h.client("phone1", func(c *client.Config) { c.Caps.Platform = "phone" })
	if _, err := device(ctx, phone, 0, 0.25, 7); err != nil {
		t.Fatal(err)
	}
	if w := <-pc.applied; w != 7 {
		t.Fatalf("coordinator got weight %v, want 7", w)
	}
	if ev := h.event(10 * time.Second); !ev.Committed || ev.Selected != 1 {
		t.Fatalf("event %+v", ev)
	}
	if p := h.r.Model().Params; p[0] != 0.5 {
		t.Fatalf("model %v, want the coordinator's 2×delta", p[0])
	}
}
