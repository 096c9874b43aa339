package launcher

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetricsLatencyObservedOncePerAttempt(t *testing.T) {
	m := NewMetrics()
	t0 := time.Unix(1000, 0)
	m.registered("j1", 1, t0)
	m.placed("j1", t0.Add(2*time.Second))
	m.placed("j1", t0.Add(5*time.Second)) // a later allocation event: not observed again
	m.running("j1", t0.Add(3*time.Second))
	m.running("j1", t0.Add(9*time.Second))
	// Retry: a second registration is a new attempt, observed anew.
	m.registered("j1", 2, t0.Add(10*time.Second))
	m.running("j1", t0.Add(14*time.Second)) // running before placed: placed at the same time
	// Events of a job never registered by this launcher are ignored.
	m.placed("other", t0)
	m.running("other", t0)

	for stage, want := range map[string][2]float64{ // count, sum
		StageRegisteredToPlaced:  {2, 2 + 4},
		StagePlacedToRunning:     {2, 1 + 0},
		StageRegisteredToRunning: {2, 3 + 4},
	} {
		count, sum := histogram(t, m, stage)
		if count != want[0] || sum != want[1] {
			t.Errorf("%s: count %v sum %v, want %v %v", stage, count, sum, want[0], want[1])
		}
	}
	if got := testutil.ToFloat64(m.retries); got != 1 {
		t.Errorf("retries = %v, want 1", got)
	}
}

func histogram(t *testing.T, m *Metrics, stage string) (count, sum float64) {
	t.Helper()
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "shardwise_launcher_submission_latency_seconds" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			for _, l := range mt.GetLabel() {
				if l.GetName() == "stage" && l.GetValue() == stage {
					return float64(mt.GetHistogram().GetSampleCount()), mt.GetHistogram().GetSampleSum()
				}
			}
		}
	}
	return 0, 0
}

func TestMetricsStatesAndReplans(t *testing.T) {
	m := NewMetrics()
	var s Snapshot
	s.Run = "r1"
	s.Counts[Pending], s.Counts[Running] = 3, 2
	m.states(s)
	s.Counts[Pending], s.Counts[Running], s.Counts[Complete] = 0, 1, 4
	m.states(s)
	m.replanned("cpu-heavy", "memory-intensive")
	m.replanned("cpu-heavy", "memory-intensive")
	for st, want := range map[State]float64{Pending: 0, Running: 1, Complete: 4, Failed: 0} {
		if got := testutil.ToFloat64(m.shards.WithLabelValues("r1", st.String())); got != want {
			t.Errorf("shards{state=%s} = %v, want %v", st, got, want)
		}
	}
	if got := testutil.ToFloat64(m.replans.WithLabelValues("cpu-heavy", "memory-intensive")); got != 2 {
		t.Errorf("replans = %v, want 2", got)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`shardwise_launcher_shards{run="r1",state="complete"} 4`,
		`shardwise_launcher_replans_total{from="cpu-heavy",to="memory-intensive"} 2`,
		`shardwise_launcher_retries_total 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestMetricsNilRecordsNothing(t *testing.T) {
	var m *Metrics
	m.states(Snapshot{})
	m.registered("j", 2, time.Now())
	m.placed("j", time.Now())
	m.running("j", time.Now())
	m.replanned("a", "b")
}
