package feedback

import (
	"math"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shardwise/shardwise/planner/history"
)

// Metrics are the feedback service's Prometheus metrics, on a registry of
// their own (plus the Go and process collectors). Names:
//
//	shardwise_feedback_records_ingested_total{executor}         counter
//	shardwise_feedback_oom_kills_total{executor,signature}      counter
//	shardwise_feedback_runtime_error_ratio{executor,signature}  histogram of |actual-predicted|/actual
//	shardwise_feedback_memory_ratio{executor,signature}         histogram of predicted/peak memory
//	shardwise_feedback_event_lag_seconds                        histogram: task finished -> record committed
//	shardwise_feedback_event_index                              gauge: last committed event index
//	shardwise_feedback_tracked_allocations                      gauge: allocations being sampled
//	shardwise_feedback_stream_reconnects_total                  counter
//	shardwise_feedback_errors_total{op}                         counter (op: stream, nomad, store)
//
// Prediction metrics are observed only for records whose job carried
// the predictions (sdk.MetaPredictedRuntime, sdk.MetaPredictedMemory).
type Metrics struct {
	reg        *prometheus.Registry
	ingested   *prometheus.CounterVec
	oom        *prometheus.CounterVec
	rtErr      *prometheus.HistogramVec
	memRatio   *prometheus.HistogramVec
	lag        prometheus.Histogram
	index      prometheus.Gauge
	tracked    prometheus.Gauge
	reconnects prometheus.Counter
	errs       *prometheus.CounterVec
}

// NewMetrics registers the service's metrics on a new registry.
func NewMetrics() *Metrics {
	const ns, sub = "shardwise", "feedback"
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		ingested: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "records_ingested_total", Help: "History records committed to the store."}, []string{"executor"}),
		oom: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "oom_kills_total", Help: "Recorded allocations that were OOM-killed."}, []string{"executor", "signature"}),
		rtErr: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "runtime_error_ratio", Help: "Absolute runtime prediction error relative to the actual runtime.",
			Buckets: []float64{0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5}}, []string{"executor", "signature"}),
		memRatio: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "memory_ratio", Help: "Predicted memory over observed peak memory (below 1: under-predicted).",
			Buckets: []float64{0.5, 0.8, 0.9, 1, 1.1, 1.25, 1.5, 2, 4, 8}}, []string{"executor", "signature"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "event_lag_seconds", Help: "Seconds from a task finishing to its record being committed.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12)}),
		index: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "event_index", Help: "Index of the last Nomad event batch committed."}),
		tracked: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "tracked_allocations", Help: "Running allocations being sampled."}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "stream_reconnects_total", Help: "Event stream connections after the first."}),
		errs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "errors_total", Help: "Errors by operation."}, []string{"op"}),
	}
	m.reg.MustRegister(m.ingested, m.oom, m.rtErr, m.memRatio, m.lag, m.index, m.tracked, m.reconnects, m.errs,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry returns the registry the metrics are on.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// recorded observes one committed allocation, whose whole-allocation
// record is r, written as n records (one per task of a fused shard); now
// is the commit time.
func (m *Metrics) recorded(r *history.Record, n int, now time.Time) {
	m.ingested.WithLabelValues(r.Executor).Add(float64(n))
	if r.OOMKilled {
		m.oom.WithLabelValues(r.Executor, r.Signature).Inc()
	}
	if r.PredictedRuntimeSeconds > 0 && r.RuntimeSeconds > 0 && r.OK() {
		m.rtErr.WithLabelValues(r.Executor, r.Signature).Observe(math.Abs(r.RuntimeSeconds-r.PredictedRuntimeSeconds) / r.RuntimeSeconds)
	}
	if r.PredictedMemoryBytes > 0 && r.MemoryBytes > 0 {
		m.memRatio.WithLabelValues(r.Executor, r.Signature).Observe(float64(r.PredictedMemoryBytes) / float64(r.MemoryBytes))
	}
	if !r.End.IsZero() && now.After(r.End) {
		m.lag.Observe(now.Sub(r.End).Seconds())
	}
}

func (m *Metrics) fail(op string) { m.errs.WithLabelValues(op).Inc() }
