// Package dashboard is the relay's web page: the current round and stage,
// connected devices by platform, live plots of test accuracy and loss,
// bytes, dropouts and resumes per round, and the model and core hashes.
//
// The page is one self-contained HTML file (no scripts from elsewhere: relays
// often run without internet access); it polls /api/dashboard once a second
// and draws SVG plots.
package dashboard

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/murmur-fl/murmur/sync/relay"
)

//go:embed index.html
var page []byte

// Round is one round's line in the plots.
type Round struct {
	Round        uint64  `json:"round"`
	Committed    bool    `json:"committed"`
	Selected     int     `json:"selected"`
	Reported     int     `json:"reported"`
	Dropped      int     `json:"dropped"`
	Resumed      int     `json:"resumed"`
	TestAccuracy float64 `json:"test_accuracy"`
	TestLoss     float64 `json:"test_loss"`
	BytesUp      int64   `json:"bytes_up"`
	BytesDown    int64   `json:"bytes_down"`
	Seconds      float64 `json:"seconds"`
}

// Snapshot is what /api/dashboard returns.
type Snapshot struct {
	Title    string       `json:"title"`
	CoreHash string       `json:"core_hash"`
	Status   relay.Status `json:"status"`
	Rounds   []Round      `json:"rounds"`
}

// Dashboard collects rounds and serves the page.
type Dashboard struct {
	mu       sync.Mutex
	title    string
	coreHash string
	status   func() relay.Status
	rounds   []Round
}

// New returns a dashboard titled title that reads live state from status
// (usually (*relay.Relay).Status) and shows coreHash as the training core.
func New(title, coreHash string, status func() relay.Status) *Dashboard {
	return &Dashboard{title: title, coreHash: coreHash, status: status}
}

// Record adds (or replaces, by round number) one round's results.
func (d *Dashboard) Record(r Round) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range d.rounds {
		if d.rounds[i].Round == r.Round {
			d.rounds[i] = r
			return
		}
	}
	d.rounds = append(d.rounds, r)
}

// Snapshot returns the current state.
func (d *Dashboard) Snapshot() Snapshot {
	var st relay.Status
	if d.status != nil {
		st = d.status()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return Snapshot{Title: d.title, CoreHash: d.coreHash, Status: st, Rounds: append([]Round(nil), d.rounds...)}
}

// Handler serves GET / (the page) and GET /api/dashboard (the snapshot as
// JSON). Mount it beside the relay's own handler.
func (d *Dashboard) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
		w.Write(page)
	})
	mux.HandleFunc("GET /api/dashboard", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(d.Snapshot())
	})
	return mux
}
