package sim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/murmur-fl/murmur/internal/dashboard"
	"github.com/murmur-fl/murmur/runtime/nn"
	"github.com/murmur-fl/murmur/runtime/train"
	"github.com/murmur-fl/murmur/sync/relay"
	"github.com/murmur-fl/murmur/sync/wire"
)

// ServerOptions configures the relay side of a federation.
type ServerOptions struct {
	Options
	StorePath string              // bbolt file
	Auth      relay.Authenticator // device tokens
	Core      []byte              // the training core served to devices by hash (nil: none)
	Title     string              // dashboard title
	Forever   bool                // run rounds until shut down (o.Rounds ignored)
	// WaitFor holds each round's selection until that many devices are
	// connected (or 2 s pass): a simulation waits for all its devices, so
	// the same seed picks the same cohorts.
	WaitFor int
}

// Server is a running relay with its dashboard, evaluating every committed
// model on the example's test set.
type Server struct {
	Relay    *relay.Relay
	Dash     *dashboard.Dashboard
	URL      string // http://host:port
	WSURL    string // ws://host:port/ws
	CoreHash string
	Params   int
	// Results receives every round's result (buffered; drained by Run).
	Results chan RoundResult
	store   relay.Store
	http    *http.Server
}

// StartServer loads the example's test set (to score committed models),
// opens the store, starts the relay and serves it, with the dashboard at
// /, on so.Addr.
func StartServer(ctx context.Context, so ServerOptions) (*Server, error) {
	so.Devices, so.PerRound = max(so.Devices, so.PerRound, 1), max(so.PerRound, 1)
	if err := so.defaults(); err != nil {
		return nil, err
	}
	nativeKernels()
	w, err := loadWorld(&so.Options)
	if err != nil {
		return nil, err
	}
	return startServer(ctx, so, w)
}

func startServer(ctx context.Context, so ServerOptions, w *world) (*Server, error) {
	o := &so.Options
	ev, err := newEvaluator(w)
	if err != nil {
		return nil, err
	}
	init, err := nn.Build(w.spec, o.Seed)
	if err != nil {
		return nil, err
	}
	dim := len(init.Params())
	plan, cc, err := makePlan(o, w, dim)
	if err != nil {
		return nil, err
	}
	serverOpt := relay.OptimizerConfig{Name: o.ServerOpt, LR: o.ServerLR, Beta1: o.ServerMomentum}
	if _, err := relay.NewOptimizer(serverOpt, 1); err != nil {
		return nil, err
	}
	var coreHash string
	if so.Core != nil {
		h := sha256.Sum256(so.Core)
		coreHash = hex.EncodeToString(h[:])
		plan.Core = coreHash
	}
	store, err := relay.OpenBolt(so.StorePath)
	if err != nil {
		return nil, err
	}
	s := &Server{store: store, Params: dim, CoreHash: coreHash, Results: make(chan RoundResult, 1024)}
	var (
		mu      sync.Mutex
		evals   = map[uint64]train.Stats{}
		lastEnd = time.Now()
	)
	rounds := uint64(o.Rounds)
	if so.Forever {
		rounds = 0
	}
	rcfg := relay.Config{
		Store:         store,
		Auth:          so.Auth,
		InitialParams: init.Params(),
		Plan:          plan,
		Round: relay.RoundConfig{Goal: o.PerRound, MinReports: max(1, o.PerRound*6/10), OverSelect: 1.3,
			SelectWait: 2 * time.Second, Deadline: o.Deadline, Rounds: rounds, WaitFor: so.WaitFor, Require: o.Require},
		Coordinator: scheduled{relay.LocalCoordinator{Seed: o.Seed, Optimizer: serverOpt}, o.ServerLRDecay, uint64(o.Rounds)},
		Grace:       2 * time.Second,
		Logger:      o.Logger,
		OnCommit: func(round, version uint64, params []float32) {
			st, err := ev.eval(params)
			if err != nil {
				o.Logger.Error("evaluation failed", "round", round, "err", err)
				return
			}
			mu.Lock()
			evals[round] = st
			mu.Unlock()
		},
		OnRound: func(e relay.RoundEvent) {
			mu.Lock()
			st := evals[e.Round]
			now := time.Now()
			secs := now.Sub(lastEnd).Seconds()
			lastEnd = now
			mu.Unlock()
			r := RoundResult{Round: e.Round, Committed: e.Committed, Reason: e.Reason, Selected: e.Selected,
				Reported: e.Reported, Dropped: e.Dropped, Resumed: e.Resumed, BytesUp: e.BytesUp, BytesDown: e.BytesDown,
				Seconds: secs}
			if e.Committed {
				r.TestAccuracy, r.TestTop3, r.TestLoss = float64(st.Accuracy), float64(st.Top3), float64(st.Loss)
			}
			if s.Dash != nil {
				s.Dash.Record(dashboard.Round{Round: r.Round, Committed: r.Committed, Selected: r.Selected, Reported: r.Reported,
					Dropped: r.Dropped, Resumed: r.Resumed, TestAccuracy: r.TestAccuracy, TestLoss: r.TestLoss,
					BytesUp: r.BytesUp, BytesDown: r.BytesDown, Seconds: r.Seconds})
			}
			select {
			case s.Results <- r:
			default: // nobody drains (murmur relay): the dashboard has it
			}
		},
	}
	if cc != nil {
		rcfg.Decode = codecDecoder()
	}
	// Downloads: bf16-rounded models (the relay trains the exact float32
	// one), as compressed snapshots or lossless deltas against the version
	// a device holds.
	rcfg.Download = relay.DownloadConfig{Precision: o.Download, Keep: o.DeltaKeep}
	if o.SecAgg {
		rcfg.Secure = relay.SecAgg
	}
	if o.Heterogeneous {
		rcfg.PlanFor = ScaleSteps
	}
	rl, err := relay.New(rcfg)
	if err != nil {
		store.Close()
		return nil, err
	}
	s.Relay = rl
	if so.Core != nil {
		rl.AddBlob(so.Core) // devices fetch it by hash: /v1/blobs/<sha256>
	}
	if so.Title == "" {
		so.Title = fmt.Sprintf("murmur relay: %s/%s", o.Example, o.Model)
	}
	s.Dash = dashboard.New(so.Title, s.CoreHash, rl.Status)
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("listen %s: %w", o.Addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", s.Dash.Handler())
	rh := rl.Handler()
	for _, p := range []string{"/ws", "/v1/", "/healthz", "/metrics"} {
		mux.Handle(p, rh)
	}
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.http.Serve(ln)
	s.URL = "http://" + ln.Addr().String()
	s.WSURL = "ws://" + ln.Addr().String() + "/ws"
	if o.OnListen != nil {
		o.OnListen(s.URL)
	}
	return s, nil
}

// scheduled is the simulator's Coordinator: the server optimizer, with its
// step scaled by decay from round half+1 on (half of the planned rounds).
type scheduled struct {
	relay.LocalCoordinator
	decay  float64
	rounds uint64
}

func (c scheduled) Apply(round uint64, cur relay.Committed, delta []float32, weight float64, reported int) ([]float32, []byte, error) {
	if c.decay > 0 && c.decay != 1 && c.rounds > 0 && round > c.rounds/2 {
		scaled := make([]float32, len(delta))
		for i, x := range delta {
			scaled[i] = float32(c.decay) * x
		}
		delta = scaled
	}
	return c.LocalCoordinator.Apply(round, cur, delta, weight, reported)
}

// ScaleSteps is a relay.Config.PlanFor that gives each device local steps
// in proportion to its speed class (1: half, 2: as planned, 3: 1.5x), so
// slow devices finish in time; unknown speed keeps the plan.
func ScaleSteps(_ uint64, caps wire.Capabilities, p relay.Plan) relay.Plan {
	if caps.SpeedClass >= 1 && caps.SpeedClass <= 3 {
		p.LocalSteps = max(1, p.LocalSteps*int(caps.SpeedClass)/2)
	}
	return p
}

// ParseFlags reads a capability list such as "charging,unmetered".
func ParseFlags(s string) (uint32, error) {
	var f uint32
	for _, name := range strings.Split(s, ",") {
		switch strings.TrimSpace(name) {
		case "":
		case "charging":
			f |= wire.CapCharging
		case "unmetered":
			f |= wire.CapUnmetered
		case "idle":
			f |= wire.CapIdle
		default:
			return 0, fmt.Errorf("unknown capability %q (want charging, unmetered, idle)", name)
		}
	}
	return f, nil
}

// Close shuts the relay and its HTTP server down and closes the store.
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s.Relay != nil {
		s.Relay.Shutdown(ctx)
	}
	if s.http != nil {
		s.http.Shutdown(ctx)
	}
	s.store.Close()
}
