package relay_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/murmur-fl/murmur/sync/client"
	"github.com/murmur-fl/murmur/sync/codec"
	"github.com/murmur-fl/murmur/sync/relay"
	"github.com/murmur-fl/murmur/sync/wire"
)

// getBlob fetches a blob over HTTP (404 gives nil).
func getBlob(t *testing.T, addr string, h wire.Hash) []byte {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/v1/blobs/" + h.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET blob %v: %d %v", h, resp.StatusCode, err)
	}
	return b
}

// TestDeltaOffers checks the relay's side of model deltas over real
// WebSockets and a bbolt store, with exact float32 serving: which Task
// offers what (by the version a device holds, learnt from its Hello and its
// counted update), that two devices on the same base share one cached
// encoding, that the delta decodes to exactly the model and its params hash,
// that it is served over HTTP too, and that after a relay restart in the
// middle of a round the same delta is offered and served again (kept
// versions come from the store; encodings are deterministic).
func TestDeltaOffers(t *testing.T) {
	const dim = 6000
	init := make([]float32, dim)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range init {
		init[i] = float32(rng.NormFloat64())
	}
	path := filepath.Join(t.TempDir(), "relay.db")
	var h *harness
	start := func(addr string) {
		st, err := relay.OpenBolt(path)
		if err != nil {
			t.Fatal(err)
		}
		// A short grace: devices that leave right after a round and are
		// selected for the next are given up on quickly.
		cfg := relay.Config{Store: st, InitialParams: init, Download: relay.DownloadConfig{Precision: "float32", Keep: 2}, Grace: 500 * time.Millisecond,
			Round: relay.RoundConfig{Goal: 2, MinReports: 2, OverSelect: 1, Deadline: 30 * time.Second}}
		if addr == "" {
			h = startRelay(t, cfg)
			return
		}
		// The same address, so that the devices' clients find the new process.
		var ln net.Listener
		for i := 0; i < 50; i++ {
			if ln, err = net.Listen("tcp", addr); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
		events := h.events
		cfg.Auth, cfg.Logger, cfg.OnRound = secret, quietLogger(), func(e relay.RoundEvent) { events <- e }
		r, err := relay.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		go r.Serve(ln)
		t.Cleanup(func() { r.Shutdown(context.Background()) })
		h = &harness{t: t, r: r, addr: addr, events: events}
	}
	start("")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, b := h.client("a", nil), h.client("b", nil)

	// Round 1: nobody holds a model: snapshots, which decode to the model.
	held := map[*client.Client][]float32{}
	for _, c := range []*client.Client{a, b} {
		task, err := c.NextTask(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if task.BaseVersion != 0 || task.ModelVersion != 1 {
			t.Fatalf("round 1 task: base %d, model v%d: want a snapshot of v1", task.BaseVersion, task.ModelVersion)
		}
		blob, err := c.Download(ctx, task.ModelHash)
		if err != nil {
			t.Fatal(err)
		}
		p, v, err := codec.DecodeModel(blob, nil, 0)
		if err != nil || v != 1 || !slices.Equal(p, init) || wire.ParamsHash(p) != task.ParamsHash {
			t.Fatalf("snapshot: v%d err %v; equal to the model: %v", v, err, slices.Equal(p, init))
		}
		held[c] = p
		c.SetHaveModel(1) // as an agent does once it holds the model
		if err := c.Upload(ctx, task, 10, relay.EncodeFloat32(fill(dim, 0.01))); err != nil {
			t.Fatal(err)
		}
	}
	if e := h.event(30 * time.Second); !e.Committed {
		t.Fatalf("round 1: %+v", e)
	}

	// Round 2: both counted an update on v1, so both are offered the same
	// delta from v1, smaller than the snapshot.
	var ta, tb *wire.Task
	var err error
	if ta, err = a.NextTask(ctx, 1); err == nil {
		tb, err = b.NextTask(ctx, 1)
	}
	if err != nil {
		t.Fatal(err)
	}
	if ta.BaseVersion != 1 || ta.ModelVersion != 2 || ta.DeltaHash != tb.DeltaHash || tb.BaseVersion != 1 || ta.DeltaSize >= ta.ModelSize {
		t.Fatalf("round 2 tasks: a %d->%d %v (%d B, snapshot %d B), b %d->%d %v", ta.BaseVersion, ta.ModelVersion, ta.DeltaHash,
			ta.DeltaSize, ta.ModelSize, tb.BaseVersion, tb.ModelVersion, tb.DeltaHash)
	}
	dhttp := getBlob(t, h.addr, ta.DeltaHash)
	if sha256.Sum256(dhttp) != ta.DeltaHash || uint64(len(dhttp)) != ta.DeltaSize {
		t.Fatal("the delta served over HTTP is not the one named in the task")
	}

	// The relay restarts in the middle of round 2. The new process serves
	// the same delta by its hash before anyone asks for it by task, and
	// offers it again to the devices when they come back.
	addr := h.addr
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	h.r.Shutdown(sctx)
	scancel()
	start(addr)
	if again := getBlob(t, addr, ta.DeltaHash); !bytes.Equal(again, dhttp) {
		t.Fatalf("after a restart the delta %v is not served (%d bytes)", ta.DeltaHash, len(again))
	}
	if ta, err = a.NextTask(ctx, 1); err == nil { // the task again, on the new session
		tb, err = b.NextTask(ctx, 1)
	}
	if err != nil {
		t.Fatal(err)
	}
	if ta.Round != 2 || ta.BaseVersion != 1 || sha256.Sum256(dhttp) != ta.DeltaHash || tb.DeltaHash != ta.DeltaHash {
		t.Fatalf("after a restart: round %d, base %d, same delta %v", ta.Round, ta.BaseVersion, ta.DeltaHash == tb.DeltaHash)
	}
	blob, err := a.Download(ctx, ta.DeltaHash)
	if err != nil {
		t.Fatal(err)
	}
	p, v, err := codec.DecodeModel(blob, held[a], 1)
	if err != nil || v != 2 || wire.ParamsHash(p) != ta.ParamsHash || !slices.Equal(p, h.r.Model().Params) {
		t.Fatalf("delta v1->v2: v%d err %v; exactly the relay's model: %v", v, err, slices.Equal(p, h.r.Model().Params))
	}
	// Applied to something other than v1, the delta cannot pass the hash.
	if p, _, err := codec.DecodeModel(blob, init[:dim-1], 1); err == nil && wire.ParamsHash(p) == ta.ParamsHash {
		t.Fatal("a delta applied to a wrong base passed")
	}
	for _, c := range []*client.Client{a, b} {
		tk := ta
		if c == b {
			tk = tb
		}
		if err := c.Upload(ctx, tk, 10, relay.EncodeFloat32(fill(dim, 0.02))); err != nil {
			t.Fatal(err)
		}
	}
	if e := h.event(30 * time.Second); !e.Committed {
		t.Fatalf("round 2: %+v", e)
	}

	// Round 3 (model v3; Keep 2 keeps v2 and v3): a device that says in its
	// Hello it holds v2 is offered a delta; one that says v1 is too old.
	a.Close()
	b.Close()
	devs := []struct {
		id         string
		have, base uint64
		c          *client.Client
	}{{id: "c", have: 2, base: 2}, {id: "d", have: 1, base: 0}}
	for i, d := range devs {
		// An earlier run of the app recorded what it holds (offline).
		st := client.MemStorage()
		pre, err := client.New(client.Config{URL: "ws://127.0.0.1:1/ws", Token: "x", DeviceID: d.id, State: st, Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		pre.SetHaveModel(d.have)
		pre.Abort()
		devs[i].c = h.client(d.id, func(cfg *client.Config) { cfg.State = st })
		if devs[i].c.HaveModel() != d.have {
			t.Fatalf("client did not keep HaveModel in its state: %d", devs[i].c.HaveModel())
		}
	}
	for _, d := range devs {
		task, err := d.c.NextTask(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		if task.ModelVersion != 3 || task.BaseVersion != d.base || (d.base == 0) != (task.DeltaSize == 0) {
			t.Fatalf("device holding v%d: task v%d, base %d (%d B): want base %d", d.have, task.ModelVersion, task.BaseVersion, task.DeltaSize, d.base)
		}
	}
}
