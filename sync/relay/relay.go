// Package relay is the murmur relay: the server devices connect to over
// WebSockets. It runs rounds (select with over-selection, configure,
// collect, aggregate, commit or abandon), accepts resumable chunked uploads
// and serves resumable downloads, persists everything acknowledged in a
// Store, and exposes /healthz, /metrics and content-addressed blobs over
// HTTP. The protocol is specified in sync/PROTOCOL.md.
package relay

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"

	"github.com/murmur-fl/murmur/sync/wire"
)

// Relay is one relay server. Create it with New, serve it with Serve or
// Handler, stop it with Shutdown.
type Relay struct {
	cfg   Config
	log   *slog.Logger
	store Store
	m     *metrics

	mu        sync.Mutex
	devices   map[string]*device
	live      int
	model     Committed
	cur       *served // r.model as devices receive it
	models    *models
	coord     Coordinator
	round     *round // the open round, nil between rounds
	blobs     map[wire.Hash][]byte
	blobCache map[wire.Hash][]byte // older model versions read from the store
	closing   bool
	kick      chan struct{} // wakes the round loop when devices arrive
	conns     map[*conn]struct{}
	lastEvt   *RoundEvent
	finished  bool // Round.Rounds reached

	recent                     map[wire.ID16]countedUpload // counted uploads of recent rounds
	lastRound                  uint64                      // last round number started
	upTotal, downTotal         atomic.Int64
	bytesBaseUp, bytesBaseDown int64

	ctx      context.Context
	cancel   context.CancelFunc
	loopDone chan struct{}
	handlers sync.WaitGroup
	srvMu    sync.Mutex
	srv      *http.Server
}

// device is what the relay knows of one device across connections.
type device struct {
	id          string
	caps        wire.Capabilities
	sessionID   wire.ID16
	resumeToken wire.ID16
	conn        *conn
	lastSeen    time.Time
	queue       []queued // messages for the device while it is away
	limiter     *rate.Limiter
	// have is the model version the device holds, as far as the relay
	// knows: its Hello says, then each model download it finished and each
	// update it had counted (trained on the round's version). A wrong guess
	// costs bytes, never correctness: the device takes the snapshot.
	have atomic.Uint64
}

type queued struct {
	round uint64
	msg   wire.Message
}

const maxQueue = 256

type countedUpload struct {
	round uint64
	size  uint64
	crc   uint32
}

// New opens a relay: it loads the latest committed model (committing
// InitialParams as version 1 on a fresh store), recovers an open round,
// and starts the round loop.
func New(cfg Config) (*Relay, error) {
	cfg.withDefaults()
	if cfg.Auth == nil {
		return nil, errors.New("relay: Config.Auth is required")
	}
	r := &Relay{cfg: cfg, log: cfg.Logger.With("component", "relay"), store: cfg.Store, m: newMetrics(),
		devices: map[string]*device{}, blobs: map[wire.Hash][]byte{}, blobCache: map[wire.Hash][]byte{}, kick: make(chan struct{}, 1),
		conns: map[*conn]struct{}{}, recent: map[wire.ID16]countedUpload{}, loopDone: make(chan struct{})}
	var err error
	if r.models, err = newModels(cfg.Download, r.store); err != nil {
		return nil, err
	}
	m, ok, err := r.store.Latest()
	if err != nil {
		return nil, err
	}
	var cur *served
	if ok {
		// What devices hold of the latest version is what its stored blob
		// decodes to, whatever this process's precision.
		if cur, err = servedFromBlob(m.Version, m.Blob); err != nil {
			return nil, err
		}
	} else {
		if len(cfg.InitialParams) == 0 {
			return nil, errors.New("relay: the store holds no model and Config.InitialParams is empty")
		}
		if m, cur, err = r.makeModel(1, 0, append([]float32(nil), cfg.InitialParams...), nil); err != nil {
			return nil, err
		}
		if err := r.store.Commit(m); err != nil {
			return nil, fmt.Errorf("relay: commit initial model: %w", err)
		}
	}
	if err := r.models.committed(cur); err != nil {
		return nil, fmt.Errorf("relay: prune kept versions: %w", err)
	}
	r.model, r.cur = m, cur
	r.coord = cfg.Coordinator
	if r.coord == nil {
		opt, err := NewOptimizer(cfg.Optimizer, len(m.Params))
		if err != nil {
			return nil, err
		}
		if err := opt.UnmarshalBinary(m.OptState); err != nil {
			return nil, fmt.Errorf("relay: stored optimizer state: %w", err)
		}
		r.coord = LocalCoordinator{Optimizer: cfg.Optimizer}
	}
	if _, err := NewRule(cfg.Rule, 1); err != nil {
		return nil, err
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	go r.loop()
	return r, nil
}

func (r *Relay) makeModel(version, round uint64, params []float32, opt []byte) (Committed, *served, error) {
	blob, s, err := r.models.snapshot(version, params)
	if err != nil {
		return Committed{}, nil, err
	}
	return Committed{Version: version, Round: round, Hash: sha256.Sum256(blob), Blob: blob, Params: params, OptState: opt}, s, nil
}

// AddBlob makes b downloadable by its SHA-256 (the training core module,
// for instance) over HTTP and Fetch, and returns the hash.
func (r *Relay) AddBlob(b []byte) wire.Hash {
	h := wire.Hash(sha256.Sum256(b))
	r.mu.Lock()
	r.blobs[h] = b
	r.mu.Unlock()
	return h
}

// Model returns the latest committed model (do not modify Params).
func (r *Relay) Model() Committed {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.model
}

// Status is a snapshot for dashboards.
type Status struct {
	Round        uint64         `json:"round"`
	Stage        string         `json:"stage"` // "selecting", "collecting", "idle", "finished"
	Sessions     int            `json:"sessions"`
	ByPlatform   map[string]int `json:"by_platform"`
	SecureStage  uint8          `json:"secure_stage,omitempty"` // open SecAgg stage (1..5), 0 if none
	Selected     int            `json:"selected"`
	Reported     int            `json:"reported"`
	ModelVersion uint64         `json:"model_version"`
	ModelHash    string         `json:"model_hash"`
	Last         *RoundEvent    `json:"last,omitempty"`
}

// Status returns the relay's current state.
func (r *Relay) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Status{Sessions: r.live, ByPlatform: map[string]int{}, ModelVersion: r.model.Version,
		ModelHash: r.model.Hash.String(), Stage: "selecting", Last: r.lastEvt}
	for _, d := range r.devices {
		if d.conn != nil {
			s.ByPlatform[d.caps.Platform]++
		}
	}
	if r.finished {
		s.Stage = "finished"
	}
	if rd := r.round; rd != nil {
		rd.mu.Lock()
		s.Round, s.Stage, s.Selected, s.Reported = rd.state.Number, "collecting", len(rd.parts), rd.reported
		if rd.secure != nil {
			s.SecureStage = rd.stage
		}
		rd.mu.Unlock()
	}
	return s
}

// Handler returns the relay's HTTP handler: /ws (devices), /v1/blobs/{sha256}
// (models and the core module, immutable and cacheable), /v1/model (latest
// model metadata), /healthz and /metrics.
func (r *Relay) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", r.serveWS)
	mux.HandleFunc("GET /v1/blobs/{hash}", r.serveBlob)
	mux.HandleFunc("GET /v1/model", r.serveModel)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		r.mu.Lock()
		closing := r.closing
		r.mu.Unlock()
		if closing {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(r.m.reg, promhttp.HandlerOpts{}))
	return mux
}

// Serve serves Handler on ln until Shutdown.
func (r *Relay) Serve(ln net.Listener) error {
	srv := &http.Server{Handler: r.Handler(), ReadHeaderTimeout: 10 * time.Second}
	r.srvMu.Lock()
	r.srv = srv
	r.srvMu.Unlock()
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting devices, tells connected ones to come back
// later, stops the round loop (an open round stays in the store and is
// resumed by the next relay on the same store), and closes the store.
func (r *Relay) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	if r.closing {
		r.mu.Unlock()
		return nil
	}
	r.closing = true
	conns := make([]*conn, 0, len(r.conns))
	for c := range r.conns {
		conns = append(conns, c)
	}
	r.mu.Unlock()
	r.cancel()
	<-r.loopDone
	r.srvMu.Lock()
	srv := r.srv
	r.srvMu.Unlock()
	var err error
	if srv != nil {
		err = srv.Shutdown(ctx)
	}
	for _, c := range conns {
		go c.fail(&wire.Error{Code: wire.CodeShutdown, Message: "relay shutting down"},
			&wire.RetryLater{MinMs: 1000, MaxMs: 5000, Reason: "shutdown"})
	}
	done := make(chan struct{})
	go func() { r.handlers.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		for _, c := range conns {
			c.ws.CloseNow()
		}
		<-done
		err = errors.Join(err, ctx.Err())
	}
	return errors.Join(err, r.store.Close())
}

func (r *Relay) serveBlob(w http.ResponseWriter, req *http.Request) {
	var h wire.Hash
	if b, err := hex.DecodeString(req.PathValue("hash")); err != nil || len(b) != len(h) {
		http.Error(w, "bad hash: want 64 hex digits", http.StatusBadRequest)
		return
	} else {
		copy(h[:], b)
	}
	b, err := r.blob(h)
	if err != nil {
		http.Error(w, "unknown blob", http.StatusNotFound)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("ETag", `"`+h.String()+`"`)
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, req, "", time.Time{}, bytesReader(b))
}

func (r *Relay) serveModel(w http.ResponseWriter, _ *http.Request) {
	m := r.Model()
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Type", "application/json")
	r.mu.Lock()
	ph := r.cur.hash
	r.mu.Unlock()
	fmt.Fprintf(w, `{"version":%d,"round":%d,"hash":"%v","size":%d,"params_hash":"%v"}`+"\n", m.Version, m.Round, m.Hash, len(m.Blob), ph)
}

func (r *Relay) blob(h wire.Hash) ([]byte, error) {
	r.mu.Lock()
	b, ok := r.blobs[h]
	if !ok && h == r.model.Hash {
		b, ok = r.model.Blob, true
	}
	r.mu.Unlock()
	if ok {
		return b, nil
	}
	if b, _, ok := r.models.blob(h); ok {
		return b, nil
	}
	r.mu.Lock()
	b, ok = r.blobCache[h]
	r.mu.Unlock()
	if ok {
		return b, nil
	}
	// Older model versions come from the store; keep a few in memory so a
	// device re-fetching cannot make the relay copy a model per message.
	b, err := r.store.Blob(h)
	if errors.Is(err, ErrNotFound) {
		// Perhaps a delta this process has not encoded yet (a device
		// resuming its download across a relay restart).
		r.mu.Lock()
		cur := r.cur
		r.mu.Unlock()
		r.models.sweep(cur)
		if b, _, ok := r.models.blob(h); ok {
			return b, nil
		}
	}
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if len(r.blobCache) >= keepVersions {
		for k := range r.blobCache {
			delete(r.blobCache, k)
			break
		}
	}
	r.blobCache[h] = b
	r.mu.Unlock()
	return b, nil
}

// modelVersionOf returns the version a download of blob h gives a device:
// the latest snapshot or a cached delta (0: not a current model blob).
func (r *Relay) modelVersionOf(h wire.Hash) uint64 {
	r.mu.Lock()
	m := r.model
	r.mu.Unlock()
	if h == m.Hash {
		return m.Version
	}
	if _, v, ok := r.models.blob(h); ok {
		return v
	}
	return 0
}

func newID() wire.ID16 {
	var id wire.ID16
	rand.Read(id[:])
	return id
}
