package relay

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics live in a per-relay registry so that tests and simulations can
// run several relays in one process.
type metrics struct {
	reg        *prometheus.Registry
	sessions   prometheus.Gauge
	connects   *prometheus.CounterVec
	rounds     *prometheus.CounterVec
	bytes      *prometheus.CounterVec
	rejections *prometheus.CounterVec
	stage      *prometheus.HistogramVec
	roundNum   prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{Name: "murmur_relay_sessions",
			Help: "Live device WebSocket connections."}),
		connects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "murmur_relay_connects_total",
			Help: "Device connections by kind (new, resumed)."}, []string{"kind"}),
		rounds: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "murmur_relay_rounds_total",
			Help: "Finished rounds by result (committed, abandoned)."}, []string{"result"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "murmur_relay_bytes_total",
			Help: "WebSocket payload bytes by direction (up, down)."}, []string{"dir"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "murmur_relay_rejections_total",
			Help: "Rejected requests and connections by protocol error code."}, []string{"code"}),
		stage: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "murmur_relay_stage_seconds",
			Help:    "Round stage latencies (select, collect, aggregate).",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}, []string{"stage"}),
		roundNum: prometheus.NewGauge(prometheus.GaugeOpts{Name: "murmur_relay_round",
			Help: "The current round number."}),
	}
	m.reg.MustRegister(m.sessions, m.connects, m.rounds, m.bytes, m.rejections, m.stage, m.roundNum,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}
