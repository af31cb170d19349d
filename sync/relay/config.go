package relay

import (
	"log/slog"
	"time"

	"golang.org/x/time/rate"

	"github.com/murmur-fl/murmur/sync/wire"
)

// Config configures a Relay. Zero fields take the documented defaults.
type Config struct {
	// Store keeps committed models, the open round and upload bytes.
	// Default: NewMemStore() (nothing survives the process).
	Store Store
	// Auth maps bearer tokens to device ids. Required.
	Auth Authenticator
	// OriginPatterns lists the browser origins (host patterns, see
	// websocket.AcceptOptions) allowed to open WebSockets besides the
	// relay's own host. Default: none (cross-site WebSocket hijacking).
	OriginPatterns []string
	// InitialParams is the model committed as version 1 when the store
	// holds none. Required for a fresh store.
	InitialParams []float32
	// Plan is sent to every participant in its Task.
	Plan Plan
	// PlanFor, if set, adjusts the plan per device (e.g. scale local steps
	// by capabilities).
	PlanFor func(round uint64, caps wire.Capabilities, p Plan) Plan
	Round   RoundConfig
	// Rule combines plaintext updates. Default: weighted mean (FedAvg).
	Rule RuleConfig
	// Optimizer applies the combined delta. Default: fedavg with LR 1.
	Optimizer OptimizerConfig
	// Coordinator selects cohorts and turns aggregates into models.
	// Default: LocalCoordinator{Optimizer}.
	Coordinator Coordinator
	// Decode turns an uploaded update into a dense delta. Default: RawFloat32.
	Decode UpdateDecoder
	// Download chooses the served precision of the global model and how
	// many versions back deltas are served from. Default: raw float32
	// snapshots, deltas from the last 8 versions.
	Download DownloadConfig
	// Secure, if set, runs a multi-stage secure aggregation protocol per
	// round instead of the plaintext Rule (see StageServer).
	// SecAgg (below) adapts secagg/ to it.
	Secure func(round uint64, participants, dim int, plan Plan) (StageServer, error)

	// Grace is how long a cut session can be resumed. Default 30s.
	Grace time.Duration
	// MaxSessions bounds live connections; beyond it devices are told to
	// retry later. Default 20000.
	MaxSessions int
	// RetrySpread is the widest retry window the relay hands out (at full
	// load; the window grows with load). Default 60s.
	RetrySpread time.Duration
	// MaxFrame bounds a frame and a decompressed payload. Default wire.DefaultMaxFrame.
	MaxFrame int
	// ChunkSize is the download chunk size. Default 256 KiB.
	ChunkSize int
	// Rate and Burst limit each device's messages. Default 200/s, burst 400.
	Rate  rate.Limit
	Burst int
	// HelloTimeout bounds the wait for the first message. Default 10s.
	HelloTimeout time.Duration
	// Logger receives structured logs. Default: slog.Default().
	Logger *slog.Logger
	// OnRound is called after every round ends (committed or abandoned).
	OnRound func(RoundEvent)
	// OnCommit is called with each newly committed model (params must not
	// be modified), e.g. to evaluate it.
	OnCommit func(round, version uint64, params []float32)
}

// RoundConfig shapes rounds.
type RoundConfig struct {
	// Goal is the number of reports a round wants. Default 10.
	Goal int
	// MinReports is the commit threshold. Default: 80% of Goal (at least 1).
	MinReports int
	// OverSelect multiplies Goal to get the number selected. Default 1.3.
	OverSelect float64
	// SelectWait is how long selection waits for the full over-selected
	// cohort before starting with at least MinReports devices. Default 5s.
	SelectWait time.Duration
	// Deadline is the time devices have to report. Default 60s.
	Deadline time.Duration
	// StageTimeout bounds each secure-aggregation stage. Default Deadline/4.
	StageTimeout time.Duration
	// MaxUpdate is the largest update accepted, in bytes. Default 64 MiB.
	MaxUpdate uint64
	// Require lists capability flags a device must report to be selected
	// (e.g. wire.CapCharging|wire.CapUnmetered). Default: none.
	Require uint32
	// WaitFor makes selection wait until at least this many eligible
	// devices are connected (or SelectWait passes). Default 0: start as
	// soon as the over-selected cohort is there.
	WaitFor int
	// Rounds stops the relay's round loop after that many rounds (0: run
	// forever); for simulations.
	Rounds uint64
	// Pause between rounds. Default 0.
	Pause time.Duration
}

// Plan is the round's training plan sent in every Task (see wire.Plan).
type Plan = wire.Plan

// RoundEvent summarises one finished round.
type RoundEvent struct {
	Round        uint64        `json:"round"`
	Committed    bool          `json:"committed"`
	Reason       string        `json:"reason,omitempty"`
	ModelVersion uint64        `json:"model_version"`
	Selected     int           `json:"selected"`
	Reported     int           `json:"reported"`
	Dropped      int           `json:"dropped"`
	Resumed      int           `json:"resumed"`
	Rejected     int           `json:"rejected"`
	BytesUp      int64         `json:"bytes_up"`
	BytesDown    int64         `json:"bytes_down"`
	Duration     time.Duration `json:"duration"`
}

func (c *Config) withDefaults() {
	r := &c.Round
	if r.Goal <= 0 {
		r.Goal = 10
	}
	if r.MinReports <= 0 {
		r.MinReports = max(1, r.Goal*8/10)
	}
	if r.OverSelect < 1 {
		r.OverSelect = 1.3
	}
	if r.SelectWait <= 0 {
		r.SelectWait = 5 * time.Second
	}
	if r.Deadline <= 0 {
		r.Deadline = 60 * time.Second
	}
	if r.StageTimeout <= 0 {
		r.StageTimeout = r.Deadline / 4
	}
	if r.MaxUpdate == 0 {
		r.MaxUpdate = 64 << 20
	}
	if c.Store == nil {
		c.Store = NewMemStore()
	}
	if c.Decode == nil {
		c.Decode = RawFloat32
	}
	if c.Grace <= 0 {
		c.Grace = 30 * time.Second
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = 20000
	}
	if c.RetrySpread <= 0 {
		c.RetrySpread = 60 * time.Second
	}
	if c.MaxFrame <= 0 {
		c.MaxFrame = wire.DefaultMaxFrame
	}
	if c.ChunkSize <= 0 {
		c.ChunkSize = 256 << 10
	}
	c.ChunkSize = min(c.ChunkSize, c.MaxFrame-1024)
	if c.Rate <= 0 {
		c.Rate = 200
	}
	if c.Burst <= 0 {
		c.Burst = 400
	}
	if c.HelloTimeout <= 0 {
		c.HelloTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}
