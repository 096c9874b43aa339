package launcher

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the launcher's Prometheus metrics, on a registry of their
// own (plus the Go and process collectors). Names:
//
//	shardwise_launcher_shards{run,state}                        gauge: shards in each State
//	shardwise_launcher_submission_latency_seconds{stage}        histogram, stage:
//	    registered_to_placed  job registered -> first allocation of the attempt created
//	    placed_to_running     that allocation created -> a shard of the job running
//	    registered_to_running job registered -> a shard of the job running
//	shardwise_launcher_replans_total{from,to}                   counter: jobs moved between classes
//	shardwise_launcher_retries_total                            counter: jobs registered again
//
// Latencies are observed once per job registration (attempt). A nil
// *Metrics records nothing, so the launcher calls it unconditionally.
type Metrics struct {
	reg     *prometheus.Registry
	shards  *prometheus.GaugeVec
	latency *prometheus.HistogramVec
	replans *prometheus.CounterVec
	retries prometheus.Counter

	mu   sync.Mutex
	jobs map[string]*attemptTimes
}

// attemptTimes are one job registration's milestones; zero when not
// reached yet.
type attemptTimes struct {
	registered, placed, running time.Time
}

// Latency stages of shardwise_launcher_submission_latency_seconds.
const (
	StageRegisteredToPlaced  = "registered_to_placed"
	StagePlacedToRunning     = "placed_to_running"
	StageRegisteredToRunning = "registered_to_running"
)

// NewMetrics registers the launcher's metrics on a new registry.
func NewMetrics() *Metrics {
	const ns, sub = "shardwise", "launcher"
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		shards: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "shards", Help: "Shards of the run in each state."}, []string{"run", "state"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "submission_latency_seconds", Help: "Seconds between a job's registration, its first allocation and its running.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14)}, []string{"stage"}),
		replans: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "replans_total", Help: "Jobs the re-planner moved from one executor class to another."}, []string{"from", "to"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "retries_total", Help: "Jobs registered again after Nomad gave up on them (OOM raises included)."}),
		jobs: map[string]*attemptTimes{},
	}
	m.reg.MustRegister(m.shards, m.latency, m.replans, m.retries,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry returns the registry the metrics are on.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// states sets the shards gauge from a snapshot.
func (m *Metrics) states(s Snapshot) {
	if m == nil {
		return
	}
	for st, n := range s.Counts {
		m.shards.WithLabelValues(s.Run, State(st).String()).Set(float64(n))
	}
}

// registered notes that job was registered (attempt counts from 1) at t.
func (m *Metrics) registered(job string, attempt int, t time.Time) {
	if m == nil {
		return
	}
	if attempt > 1 {
		m.retries.Inc()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.jobs[job] = &attemptTimes{registered: t}
}

// placed notes that an allocation of job's current attempt exists at t;
// only the first call per attempt is observed.
func (m *Metrics) placed(job string, t time.Time) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.jobs[job]
	if a == nil || !a.placed.IsZero() {
		return
	}
	a.placed = t
	m.latency.WithLabelValues(StageRegisteredToPlaced).Observe(t.Sub(a.registered).Seconds())
}

// running notes that a shard of job runs at t; only the first call per
// attempt is observed. A job seen running before it was seen placed (the
// allocation's events came together) counts as placed at t.
func (m *Metrics) running(job string, t time.Time) {
	if m == nil {
		return
	}
	m.mu.Lock()
	a := m.jobs[job]
	m.mu.Unlock()
	if a == nil || !a.running.IsZero() {
		return
	}
	if a.placed.IsZero() {
		m.placed(job, t)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	a.running = t
	m.latency.WithLabelValues(StagePlacedToRunning).Observe(t.Sub(a.placed).Seconds())
	m.latency.WithLabelValues(StageRegisteredToRunning).Observe(t.Sub(a.registered).Seconds())
}

// replanned counts a job moved from class from to class to.
func (m *Metrics) replanned(from, to string) {
	if m == nil {
		return
	}
	m.replans.WithLabelValues(from, to).Inc()
}
