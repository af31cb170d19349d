package agent_test

import (
	"context"
	"encoding/json"
	"math"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/murmur-fl/murmur/host/agent"
	"github.com/murmur-fl/murmur/runtime/nn"
	"github.com/murmur-fl/murmur/sync/client"
	"github.com/murmur-fl/murmur/sync/codec"
	"github.com/murmur-fl/murmur/sync/relay"
	"github.com/murmur-fl/murmur/sync/wire"
)

// deltaSpec is big enough (2,307 parameters) that a delta beats a snapshot.
const deltaSpec = `{"input":[4],"layers":[{"type":"dense","units":256},{"type":"relu"},{"type":"dense","units":5}],"loss":"softmax_xent"}`

// deltaWorld is a relay on a bbolt store that can be restarted on the same
// address, and devices that keep their State across restarts.
type deltaWorld struct {
	t     *testing.T
	path  string
	addr  string
	cfg   relay.Config
	r     *relay.Relay
	round uint64 // the last round a device ran
}

func (w *deltaWorld) start() {
	w.t.Helper()
	st, err := relay.OpenBolt(w.path)
	if err != nil {
		w.t.Fatal(err)
	}
	cfg := w.cfg
	cfg.Store = st
	if w.r, err = relay.New(cfg); err != nil {
		w.t.Fatal(err)
	}
	var ln net.Listener
	for i := 0; ; i++ { // the old listener's port may take a moment to free
		if ln, err = net.Listen("tcp", w.addr); err == nil || i == 50 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		w.t.Fatal(err)
	}
	w.addr = ln.Addr().String()
	go w.r.Serve(ln)
}

func (w *deltaWorld) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w.r.Shutdown(ctx)
}

// device is one run of a device process: a client and an agent on state.
type deltaDevice struct {
	c *client.Client
	a *agent.Agent
}

func (w *deltaWorld) device(id string, state client.Storage, seed int) *deltaDevice {
	w.t.Helper()
	c, err := client.New(client.Config{URL: "ws://" + w.addr + "/ws", Token: tokens.Issue(id), DeviceID: id, State: state,
		Logger: quiet(), MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		w.t.Fatal(err)
	}
	a, err := agent.New(agent.Config{Client: c, Trainer: &agent.NativeTrainer{}, Data: data(seed), Seed: uint64(seed), State: state})
	if err != nil {
		w.t.Fatal(err)
	}
	return &deltaDevice{c, a}
}

// run has d take part in the next round (it must be the only device
// connected: Goal 1) and checks that it ends up holding exactly what the
// relay served.
func (w *deltaWorld) run(ctx context.Context, d *deltaDevice) (agent.Result, *wire.Task) {
	w.t.Helper()
	task, err := d.c.NextTask(ctx, w.round)
	if err != nil {
		w.t.Fatal(err)
	}
	w.round = task.Round
	res, err := d.a.RunRound(ctx, task)
	if err != nil || !res.Committed {
		w.t.Fatalf("round %d: %+v %v", task.Round, res, err)
	}
	held, v := d.a.HeldModel()
	if v != task.ModelVersion || wire.ParamsHash(held) != task.ParamsHash {
		w.t.Fatalf("round %d: device holds v%d, task is v%d; params hash matches: %v", task.Round, v, task.ModelVersion,
			wire.ParamsHash(held) == task.ParamsHash)
	}
	return res, task
}

// TestModelDeltas runs one device through rounds over real WebSockets and
// checks how it gets the model each time: a snapshot first; then deltas
// against the version it holds, also after the device restarts and after
// the relay restarts (kept versions come from the store); a snapshot again
// when its version is older than the relay keeps; and, when its copy of a
// version is not the relay's (a relay whose store was replaced), a delta
// that fails the params hash and a snapshot that fixes it.
func TestModelDeltas(t *testing.T) {
	s, err := nn.ParseSpec([]byte(deltaSpec))
	if err != nil {
		t.Fatal(err)
	}
	m, err := nn.Build(s, 1)
	if err != nil {
		t.Fatal(err)
	}
	opt, _ := json.Marshal(map[string]any{"lr": 0.1})
	committed := make(chan []float32, 1) // the exact v2
	onCommit := func(_, version uint64, p []float32) {
		if version == 2 {
			committed <- append([]float32(nil), p...)
		}
	}
	w := &deltaWorld{t: t, path: filepath.Join(t.TempDir(), "relay.db"), addr: "127.0.0.1:0",
		cfg: relay.Config{Auth: tokens, InitialParams: m.Params(), Logger: quiet(), OnCommit: onCommit,
			Plan:     relay.Plan{Model: []byte(deltaSpec), Optimizer: opt, LocalSteps: 6, BatchSize: 8},
			Download: relay.DownloadConfig{Precision: "bf16", Keep: 3},
			Decode: func(payload []byte, dim int, dst []float32) ([]float32, error) {
				return codec.Decode(payload, codec.WithDim(dim))
			},
			// A device leaving right after a round may already be selected
			// for the next: a short grace lets that round give it up fast.
			Grace: 300 * time.Millisecond,
			Round: relay.RoundConfig{Goal: 1, MinReports: 1, OverSelect: 1, Deadline: 20 * time.Second}}}
	w.start()
	defer func() { w.stop() }()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	stateA := client.MemStorage()
	a := w.device("a", stateA, 1)
	res, task := w.run(ctx, a)
	if res.Download != "snapshot" || task.BaseVersion != 0 || res.DownBytes != int(task.ModelSize) {
		t.Fatalf("first round: %+v, task base %d: want a snapshot", res, task.BaseVersion)
	}
	// The relay learnt from the counted update that the device holds v1.
	res, task = w.run(ctx, a)
	if res.Download != "delta" || task.BaseVersion != 1 || task.ModelVersion != 2 || res.DownBytes != int(task.DeltaSize) ||
		task.DeltaSize >= task.ModelSize {
		t.Fatalf("second round: %+v, task %d->%d, %d vs %d bytes: want a smaller delta", res, task.BaseVersion, task.ModelVersion, task.DeltaSize, task.ModelSize)
	}
	// bf16 serving: what the device holds is the relay's exact model
	// rounded to bf16, off by at most half a bf16 step.
	held, _ := a.a.HeldModel()
	exact := <-committed // v2
	for i, x := range exact {
		if d := math.Abs(float64(held[i] - x)); d > math.Abs(float64(x))/256 {
			t.Fatalf("param %d: device %v, relay %v: off by more than bf16 rounding", i, held[i], x)
		}
	}

	// The device process restarts between rounds: its State says v2, its
	// Hello tells the relay, and it gets a delta.
	a.c.Abort()
	a = w.device("a", stateA, 1)
	if a.c.HaveModel() != 2 {
		t.Fatalf("restarted client says it holds v%d, want 2", a.c.HaveModel())
	}
	if res, task = w.run(ctx, a); res.Download != "delta" || task.BaseVersion != 2 {
		t.Fatalf("after a device restart: %+v, base %d: want a delta from v2", res, task.BaseVersion)
	}

	// The relay restarts: v3 comes back from the store, and the device
	// (reconnecting with HaveModel 3) gets a delta against it.
	a.c.Abort()
	w.stop()
	w.start()
	a = w.device("a", stateA, 1)
	if res, task = w.run(ctx, a); res.Download != "delta" || task.BaseVersion != 3 || task.ModelVersion != 4 {
		t.Fatalf("after a relay restart: %+v, task %d->%d: want a delta from v3", res, task.BaseVersion, task.ModelVersion)
	}
	a.c.Close()

	// Device b runs three rounds alone (on v5, v6, v7); the relay then
	// holds v8 and, with Keep 3, keeps v6..v8.
	b := w.device("b", client.MemStorage(), 2)
	for range 3 {
		w.run(ctx, b)
	}
	b.c.Close()
	if v := w.r.Model().Version; v != 8 {
		t.Fatalf("relay at v%d, want 8", v)
	}
	// a holds v4: too old, a snapshot.
	a = w.device("a", stateA, 1)
	if res, task = w.run(ctx, a); res.Download != "snapshot" || task.BaseVersion != 0 || task.ModelVersion != 8 {
		t.Fatalf("a device 3 versions behind with Keep 3: %+v, task %d->%d: want a snapshot", res, task.BaseVersion, task.ModelVersion)
	}
	a.c.Close()

	// A new relay with a fresh store and other initial parameters: a says
	// it holds v8, which this relay passes too, with other parameters.
	w.stop()
	w.path = filepath.Join(t.TempDir(), "other.db")
	m2, _ := nn.Build(s, 2)
	w.cfg.InitialParams, w.cfg.OnCommit = m2.Params(), nil
	w.round = 0
	w.start()
	c := w.device("c", client.MemStorage(), 3)
	for range 8 {
		w.run(ctx, c)
	}
	c.c.Close()
	a = w.device("a", stateA, 1)
	if res, task = w.run(ctx, a); res.Download != "delta-failed,snapshot" || task.BaseVersion != 8 {
		t.Fatalf("a device whose v9 is not the relay's: %+v, base %d: want the delta refused and the snapshot", res, task.BaseVersion)
	}
	a.c.Close()
}
