// Package sim runs a whole federation on one machine: a relay (with its
// bbolt store and dashboard) and many devices as goroutines, each running
// the wasm training core in wazero (compiled once), over real loopback
// WebSockets. It is `murmur simulate` and the examples' federated mode.
package sim

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	hostaccel "github.com/murmur-fl/murmur/host/accel"
	"github.com/murmur-fl/murmur/host/agent"
	"github.com/murmur-fl/murmur/host/wasmcore"
	"github.com/murmur-fl/murmur/internal/corebuild"
	"github.com/murmur-fl/murmur/runtime/data"
	"github.com/murmur-fl/murmur/runtime/kernels"
	"github.com/murmur-fl/murmur/runtime/nn"
	"github.com/murmur-fl/murmur/runtime/train"
	"github.com/murmur-fl/murmur/sync/client"
	"github.com/murmur-fl/murmur/sync/codec"
	"github.com/murmur-fl/murmur/sync/relay"
	"github.com/murmur-fl/murmur/sync/wire"
)

// Options configures a simulation. Zero fields take the defaults noted.
type Options struct {
	Example    string  // "fashion" (default) or "keyboard"
	Model      string  // nn built-in; default mlp for fashion, gru for keyboard
	Devices    int     // simulated devices (default 20)
	PerRound   int     // reports a round wants (default 10)
	Rounds     int     // rounds to run (default 10)
	LocalSteps int     // local steps per round (default 20)
	Batch      int     // local batch size (default 32)
	LR         float32 // client learning rate (default 0.05 SGD momentum 0.9)
	ProxMu     float32 // FedProx mu (default 0)
	SecAgg     bool    // secure aggregation (SecAgg+)
	// SecAggFraction compresses secure rounds: each round sends this
	// shared fraction of the coordinates at 8 bits, rotated (0 or 1: all
	// coordinates at 16 bits).
	SecAggFraction float64
	Codec          string // update codec: "" (float32), "topk", "qsgd", "secure", ...
	// CodecFraction and CodecBits tune the update codec (topk: the kept
	// fraction and the value bits; qsgd: the bits); 0 keeps sync/codec's
	// defaults.
	CodecFraction float64
	CodecBits     int
	// ServerLR is the server learning rate of FedAvg (default 1);
	// ServerLRDecay multiplies it by this factor for the second half of the
	// rounds (0 or 1: constant), which sync/codec's accuracy runs found to
	// damp the late-round noise of compressed updates.
	ServerLR      float64
	ServerLRDecay float64
	// ServerOpt is the server optimizer: "fedavg" (default) or "fedavgm"
	// (server momentum ServerMomentum, default 0.9; ServerLR then
	// defaults to 1-momentum).
	ServerOpt      string
	ServerMomentum float64
	// Download is the served precision of the global model: "bf16"
	// (default) or "float32" (exact).
	Download string
	// DeltaKeep is how many recent versions the relay serves deltas from
	// (default 8; 1: full snapshots only).
	DeltaKeep int
	Dropout   float64 // probability a device drops mid-round
	Flaky     float64 // probability per second that a device's link is cut (it resumes)
	Partition string  // "iid", "dirichlet:<alpha>" (default dirichlet:0.5), "source"
	Seed      uint64  // everything random derives from it (default 1)
	Trainer   string  // "wasm" (default) or "native"
	Accel     string  // host accelerator for the wasm core's GEMM ("" = in-guest)
	DataDir   string  // data set folder ("" = the example's default lookup)
	Limit     int     // use only the first Limit training examples (0 = all)
	EvalLimit int     // evaluate on the first EvalLimit test examples (0 = all)
	Addr      string  // relay listen address (default 127.0.0.1:0)
	Deadline  time.Duration
	// Require lists the capability flags a device must report to be
	// selected (wire.CapCharging | wire.CapUnmetered ...).
	Require uint32
	// Heterogeneous gives simulated devices speed classes 1..3 (seeded) and
	// scales each one's local steps to its class (slow: half, fast: 1.5x);
	// FedProx (--prox-mu) keeps the drift in check.
	Heterogeneous bool
	Log           io.Writer // human progress lines (nil = discard)
	Logger        *slog.Logger
	// OnListen is called with the relay's base URL once it serves.
	OnListen func(url string)
	// OnRound is called with each round's result as it ends.
	OnRound func(RoundResult)
}

// RoundResult is one round of a simulation (one --json line).
type RoundResult struct {
	Round        uint64  `json:"round"`
	Committed    bool    `json:"committed"`
	Reason       string  `json:"reason,omitempty"`
	Selected     int     `json:"selected"`
	Reported     int     `json:"reported"`
	Dropped      int     `json:"dropped"`
	Resumed      int     `json:"resumed"`
	TestAccuracy float64 `json:"test_accuracy"`
	TestTop3     float64 `json:"test_top3,omitempty"`
	TestLoss     float64 `json:"test_loss"`
	BytesUp      int64   `json:"bytes_up"`
	BytesDown    int64   `json:"bytes_down"`
	Seconds      float64 `json:"seconds"`
}

// Summary is the end of a run.
type Summary struct {
	Rounds        []RoundResult `json:"rounds"`
	FinalAccuracy float64       `json:"final_accuracy"`
	FinalTop3     float64       `json:"final_top3,omitempty"`
	FinalLoss     float64       `json:"final_loss"`
	Committed     int           `json:"committed"`
	BytesUp       int64         `json:"bytes_up"`
	BytesDown     int64         `json:"bytes_down"`
	// DownPerDevice is BytesDown over the devices selected, summed over
	// rounds: what one device downloads when it takes part in a round.
	DownPerDevice int64   `json:"down_per_device_round"`
	Seconds       float64 `json:"seconds"`
	CoreHash      string  `json:"core_hash,omitempty"`
	Params        int     `json:"params"`
}

func (o *Options) defaults() error {
	if o.Example == "" {
		o.Example = "fashion"
	}
	if o.Model == "" {
		o.Model = map[string]string{"fashion": "mlp", "keyboard": "gru"}[o.Example]
	}
	if o.Devices <= 0 {
		o.Devices = 20
	}
	if o.PerRound <= 0 {
		o.PerRound = min(10, o.Devices)
	}
	if o.PerRound > o.Devices {
		return fmt.Errorf("sim: --per-round %d exceeds --devices %d", o.PerRound, o.Devices)
	}
	if o.Rounds <= 0 {
		o.Rounds = 10
	}
	if o.LocalSteps <= 0 {
		o.LocalSteps = 20
	}
	if o.Batch <= 0 {
		o.Batch = 32
	}
	if o.LR == 0 {
		o.LR = 0.05
	}
	if o.Partition == "" {
		o.Partition = map[string]string{"fashion": "dirichlet:0.5", "keyboard": "source"}[o.Example]
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Trainer == "" {
		o.Trainer = "wasm"
	}
	if o.Download == "" {
		o.Download = "bf16"
	}
	if o.Download != "bf16" && o.Download != "float32" {
		return fmt.Errorf("sim: download %q: want bf16 or float32", o.Download)
	}
	if o.DeltaKeep <= 0 {
		o.DeltaKeep = 8
	}
	if o.Trainer != "wasm" && o.Trainer != "native" {
		return fmt.Errorf("sim: trainer %q: want wasm or native", o.Trainer)
	}
	if o.Dropout < 0 || o.Dropout >= 1 || o.Flaky < 0 {
		return fmt.Errorf("sim: dropout %v must be in [0,1) and flaky %v >= 0", o.Dropout, o.Flaky)
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Deadline == 0 {
		o.Deadline = 60 * time.Second
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return nil
}

// world is the data a simulation trains and evaluates on.
type world struct {
	spec    nn.Spec
	train   agent.Dataset   // the whole training set
	devices []agent.Dataset // its split over the devices
	test    agent.Dataset
}

// loadWorld loads the example's data set, splits it over the devices per
// the partition flag, and keeps the test set for evaluation.
func loadWorld(o *Options) (*world, error) {
	spec, err := nn.Builtin(o.Model)
	if err != nil {
		return nil, err
	}
	part, err := data.ParsePartition(o.Partition)
	if err != nil {
		return nil, err
	}
	w := &world{spec: spec}
	var (
		trainSet data.Gatherer
		examples data.Examples
		trainN   int
	)
	switch o.Example {
	case "fashion":
		dir := o.DataDir
		if dir == "" {
			if dir, err = data.FashionMNISTDir(); err != nil {
				return nil, err
			}
		}
		fm, err := data.LoadFashionMNIST(dir)
		if err != nil {
			return nil, err
		}
		tr, te := fm.Train, fm.Test
		if o.Limit > 0 && o.Limit < tr.N {
			tr = &data.Dataset{X: tr.X[:o.Limit*tr.Dim], Labels: tr.Labels[:o.Limit], N: o.Limit, Dim: tr.Dim, Shape: tr.Shape, Classes: tr.Classes}
		}
		trainSet, examples, trainN = tr, tr.Examples(), tr.N
		n := te.N
		if o.EvalLimit > 0 && o.EvalLimit < n {
			n = o.EvalLimit
		}
		w.test = agent.Dataset{X: te.X[:n*te.Dim], Labels: te.Labels[:n], N: n}
	case "keyboard":
		corpus, err := data.LoadFortunes(o.DataDir, data.TextOptions{Seed: o.Seed})
		if err != nil {
			return nil, err
		}
		tr, te := corpus.Train, corpus.Test
		if o.Limit > 0 && o.Limit < tr.N {
			tr = &data.TextSet{Tokens: tr.Tokens[:o.Limit*tr.Seq], Targets: tr.Targets[:o.Limit*tr.Seq], Source: tr.Source[:o.Limit], Sources: tr.Sources, N: o.Limit, Seq: tr.Seq}
		}
		trainSet, examples, trainN = tr, tr.Examples(), tr.N
		n := te.N
		if o.EvalLimit > 0 && o.EvalLimit < n {
			n = o.EvalLimit
		}
		w.test = agent.Dataset{Tokens: te.Tokens[:n*te.Seq], Labels: te.Targets[:n*te.Seq], N: n}
	default:
		return nil, fmt.Errorf("sim: unknown example %q (want fashion or keyboard)", o.Example)
	}
	all := make([]int, trainN)
	for i := range all {
		all[i] = i
	}
	w.train = gather(trainSet, all)
	parts, err := part.Split(examples, o.Devices, data.NewRand(o.Seed))
	if err != nil {
		return nil, err
	}
	for i, idx := range parts {
		if len(idx) == 0 {
			return nil, fmt.Errorf("sim: device %d got no examples from partition %s; use fewer devices", i, o.Partition)
		}
		w.devices = append(w.devices, gather(trainSet, idx))
	}
	return w, nil
}

func gather(set data.Gatherer, idx []int) agent.Dataset {
	var b data.Batch
	set.Gather(&b, idx)
	return agent.Dataset{X: b.X, Tokens: b.Tokens, Labels: b.Labels, N: b.N}
}

// evaluator scores committed models on the test set with the native runtime.
type evaluator struct {
	mu sync.Mutex
	s  *train.Session
}

func newEvaluator(w *world) (*evaluator, error) {
	s, err := train.New(w.spec, 0)
	if err != nil {
		return nil, err
	}
	if err := s.SetData(train.EvalSlot, w.test.X, w.test.Tokens, w.test.Labels, w.test.N); err != nil {
		return nil, err
	}
	return &evaluator{s: s}, nil
}

func (e *evaluator) eval(params []float32) (train.Stats, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.s.Model().SetParams(params); err != nil {
		return train.Stats{}, err
	}
	return e.s.Evaluate(train.EvalSlot, 256)
}

// nativeKernels makes the host's own (native) training, evaluation and
// central runs use host/accel's exact backend: vectorized, and bit-identical
// to the portable kernels the wasm core runs in-guest.
func nativeKernels() { kernels.Use(hostaccel.Exact{}) }

// Run runs a simulation to the end (or until ctx ends) and returns its summary.
func Run(ctx context.Context, o Options) (*Summary, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	nativeKernels()
	start := time.Now()
	w, err := loadWorld(&o)
	if err != nil {
		return nil, err
	}
	var engine *wasmcore.Engine
	var core []byte
	if o.Trainer == "wasm" {
		if core, err = corebuild.Load(ctx); err != nil {
			return nil, err
		}
		if engine, err = NewEngine(ctx, core, o.Accel); err != nil {
			return nil, err
		}
		defer engine.Close(context.Background())
	}
	dir, err := os.MkdirTemp("", "murmur-sim-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	tokens := relay.HMACTokens{Secret: []byte(fmt.Sprintf("sim-%d-%d", o.Seed, time.Now().UnixNano()))}
	srv, err := startServer(ctx, ServerOptions{Options: o, StorePath: filepath.Join(dir, "relay.db"), Auth: tokens, Core: core, WaitFor: o.Devices,
		Title: fmt.Sprintf("murmur simulate: %s/%s, %d devices", o.Example, o.Model, o.Devices)}, w)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	sum := &Summary{Params: srv.Params, CoreHash: srv.CoreHash}

	// Devices.
	dctx, stopDevices := context.WithCancel(ctx)
	defer stopDevices()
	var wg sync.WaitGroup
	var clients []*client.Client
	var clientsMu sync.Mutex
	for i, d := range w.devices {
		id := "device-" + strconv.Itoa(i+1)
		dev := &device{o: &o, id: id, index: i, data: d, engine: engine, url: srv.WSURL, token: tokens.Issue(id),
			roundOver: func(r uint64) bool { st := srv.Relay.Status(); return st.Round != r || st.Stage == "finished" }}
		wg.Add(1)
		go func() {
			defer wg.Done()
			dev.run(dctx, func(c *client.Client) {
				clientsMu.Lock()
				clients = append(clients, c)
				clientsMu.Unlock()
			})
		}()
	}
	if o.Flaky > 0 {
		go cutLinks(dctx, &o, func() []*client.Client {
			clientsMu.Lock()
			defer clientsMu.Unlock()
			return append([]*client.Client(nil), clients...)
		})
	}

	fmt.Fprintf(o.Log, "simulate: %d devices, %d per round, %d rounds, %s/%s (%d parameters), trainer %s, secagg %v, codec %q\n",
		o.Devices, o.PerRound, o.Rounds, o.Example, o.Model, srv.Params, o.Trainer, o.SecAgg, o.Codec)
	selected := 0
	for len(sum.Rounds) < o.Rounds {
		select {
		case <-ctx.Done():
			stopDevices()
			wg.Wait()
			return sum, ctx.Err()
		case r := <-srv.Results:
			sum.Rounds = append(sum.Rounds, r)
			sum.BytesUp += r.BytesUp
			sum.BytesDown += r.BytesDown
			selected += r.Selected
			if selected > 0 {
				sum.DownPerDevice = sum.BytesDown / int64(selected)
			}
			if r.Committed {
				sum.Committed++
				sum.FinalAccuracy, sum.FinalTop3, sum.FinalLoss = r.TestAccuracy, r.TestTop3, r.TestLoss
			}
			if o.OnRound != nil {
				o.OnRound(r)
			}
		}
	}
	stopDevices()
	wg.Wait()
	sum.Seconds = time.Since(start).Seconds()
	return sum, nil
}

// NewEngine compiles the training core with the named host accelerator
// ("" = the core's in-guest kernels).
func NewEngine(ctx context.Context, core []byte, accelName string) (*wasmcore.Engine, error) {
	var accel kernels.Backend
	if accelName != "" {
		var ok bool
		if accel, ok = hostaccel.Lookup(accelName); !ok {
			return nil, fmt.Errorf("no accelerator %q (have go, native)", accelName)
		}
	}
	return wasmcore.NewEngine(ctx, core, &wasmcore.Config{Accel: accel, CacheDir: filepath.Join(os.TempDir(), "murmur-wazero-cache")})
}

// makePlan builds the round plan every device receives.
func makePlan(o *Options, w *world, dim int) (relay.Plan, *codec.Config, error) {
	opt, _ := json.Marshal(map[string]any{"name": "sgd", "lr": o.LR, "momentum": 0.9, "prox_mu": o.ProxMu})
	p := relay.Plan{Model: w.spec.JSON(), Optimizer: opt, LocalSteps: o.LocalSteps, BatchSize: o.Batch}
	if o.SecAgg {
		if o.Codec != "" {
			return p, nil, fmt.Errorf("sim: --codec %s cannot be combined with --secagg (secure rounds use their own linear encoding)", o.Codec)
		}
		maxN := 0
		for _, d := range w.devices {
			maxN = max(maxN, d.N)
		}
		// The graph must survive the simulated dropouts with room for bad luck.
		p.SecAgg = &wire.SecAggPlan{Bits: 16, ClipNorm: 10, MaxWeight: uint64(maxN), Dropout: min(0.5, o.Dropout+0.2)}
		if o.SecAggFraction > 0 && o.SecAggFraction < 1 {
			// Compressed secure rounds: a shared subsample at 8 bits with
			// the rotation spreading outliers; the relay scales the kept
			// coordinates up (unbiased), which sync/codec's accuracy runs
			// found better than error feedback.
			p.SecAgg.Bits, p.SecAgg.Fraction, p.SecAgg.Rotate = 8, o.SecAggFraction, true
			// Weights in 16 steps keep B at b + log2(n) bits.
			p.SecAgg.MaxWeight, p.SecAgg.WeightUnit = 16, uint64(max(1, (maxN+15)/16))
			p.SecAgg.Seed = sha256.Sum256(fmt.Appendf(nil, "murmur-sim-%d", o.Seed))
		}
		// Fail now, not at every round start, if the parameters cannot work.
		if _, _, err := p.SecAgg.Setup(1, int(math.Ceil(float64(o.PerRound)*1.3)), dim); err != nil {
			return p, nil, err
		}
		return p, nil, nil
	}
	cc := codec.Config{Codec: o.Codec, Fraction: o.CodecFraction, Bits: o.CodecBits}
	if cc.Codec == "" {
		cc.Codec = "float32"
	}
	if err := cc.Validate(); err != nil {
		return p, nil, err
	}
	p.Codec, _ = json.Marshal(cc)
	return p, &cc, nil
}

// codecDecoder adapts sync/codec to the relay's UpdateDecoder.
func codecDecoder() relay.UpdateDecoder {
	return func(payload []byte, dim int, dst []float32) ([]float32, error) {
		v, err := codec.Decode(payload, codec.WithDim(dim))
		if err != nil {
			return nil, err
		}
		return append(dst[:0], v...), nil
	}
}

// device is one simulated phone: its data, its agent and its link.
type device struct {
	o      *Options
	id     string
	index  int
	data   agent.Dataset
	engine *wasmcore.Engine
	url    string
	token  string
	// roundOver reports whether round r has ended (a dropped device stays
	// away until then: it vanished, it does not retry the same round).
	roundOver func(r uint64) bool
}

// speedClass is 2 (normal), or with Options.Heterogeneous a seeded 1..3.
func (d *device) speedClass() uint8 {
	if !d.o.Heterogeneous {
		return 2
	}
	return uint8(1 + rand.New(rand.NewPCG(d.o.Seed, uint64(d.index))).IntN(3))
}

// dropped decides, reproducibly from the seed, whether this device drops
// out of a round and at which phase.
func (d *device) dropped(round uint64, phase string) bool {
	if d.o.Dropout <= 0 {
		return false
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s/%d", d.o.Seed, d.id, round)
	r := rand.New(rand.NewPCG(h.Sum64(), 7))
	drop := r.Float64() < d.o.Dropout
	at := "train"
	if r.IntN(2) == 1 {
		at = "upload"
	}
	return drop && phase == at
}

func (d *device) run(ctx context.Context, register func(*client.Client)) {
	state := client.MemStorage()
	for ctx.Err() == nil {
		c, err := client.New(client.Config{URL: d.url, Token: d.token, DeviceID: d.id, State: state,
			Caps:       wire.Capabilities{Platform: "sim/wasm", Accel: d.o.Accel, MemoryMB: 512, SpeedClass: d.speedClass(), Flags: wire.CapCharging | wire.CapUnmetered | wire.CapIdle},
			MinBackoff: 20 * time.Millisecond, MaxBackoff: 2 * time.Second, Logger: d.o.Logger})
		if err != nil {
			d.o.Logger.Error("client", "device", d.id, "err", err)
			return
		}
		register(c)
		var tr agent.Trainer
		if d.engine != nil {
			core, err := d.engine.NewCore(ctx)
			if err != nil {
				c.Abort()
				d.o.Logger.Error("core", "device", d.id, "err", err)
				return
			}
			if d.o.Accel != "" {
				core.UseAccel(ctx, true)
			}
			tr = core
		} else {
			tr = &agent.NativeTrainer{}
		}
		var droppedRound atomic.Uint64
		a, err := agent.New(agent.Config{Client: c, Trainer: tr, Data: d.data, Seed: d.o.Seed*1000003 + uint64(d.index), State: state,
			Interrupt: func(round uint64, phase string) bool {
				if d.dropped(round, phase) {
					droppedRound.Store(round)
					return true
				}
				return false
			}})
		if err != nil {
			c.Abort()
			tr.Close(ctx)
			return
		}
		// A dropped device vanishes (no goodbye) and comes back with a new
		// session once its round is over.
		rctx, cancel := context.WithCancel(ctx)
		errc := make(chan error, 1)
		go func() { errc <- runUntilDrop(rctx, a, c, &droppedRound) }()
		err = <-errc
		cancel()
		c.Abort()
		tr.Close(context.Background())
		if ctx.Err() != nil {
			return
		}
		if r := droppedRound.Load(); r != 0 {
			// A fresh session (the old one is gone), but the phone's storage
			// stays: the model it holds, its error-feedback residual.
			state.Delete("session")
			agent.ForgetRound(state, r)
			// Stay away until the round it dropped out of is over.
			for ctx.Err() == nil && !d.roundOver(r) {
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
}

// runUntilDrop runs the agent until the device drops out of a round.
func runUntilDrop(ctx context.Context, a *agent.Agent, c *client.Client, dropped *atomic.Uint64) error {
	var last uint64
	for {
		t, err := c.NextTask(ctx, last)
		if err != nil {
			return err
		}
		last = t.Round
		_, err = a.RunRound(ctx, t)
		if errors.Is(err, agent.ErrInterrupted) {
			return err
		}
		if err != nil && ctx.Err() != nil {
			return err
		}
	}
}

// cutLinks cuts random devices' links (they resume on their own).
func cutLinks(ctx context.Context, o *Options, clients func() []*client.Client) {
	r := rand.New(rand.NewPCG(o.Seed, 99))
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			for _, c := range clients() {
				if r.Float64() < o.Flaky/10 {
					c.Drop()
				}
			}
		}
	}
}
