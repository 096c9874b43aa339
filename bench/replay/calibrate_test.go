package replay

import (
	"math"
	"testing"
	"time"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/simulate"
)

// TestCalibrateHandComputed fits a run whose timestamps follow the model
// exactly: reaction 0.5 s, registration 1 s, two at once. A wave of four
// shards ready at 10 s is registered at 11.5, 11.5, 12.5 and 12.5 s; one
// ready at 20 s at 21.5 s; roots (no upstream) are left out of the fit.
// Class a starts in 1, 1 and 2 s (mean 4/3), class b in 3 s.
func TestCalibrateHandComputed(t *testing.T) {
	r := &Run{Shards: []Shard{
		{Class: "a", Registered: 0, Placed: 0, Running: 1},
		{Class: "a", Registered: 11.5, Placed: 11.5, Running: 12.5, UpstreamDone: 10},
		{Class: "b", Registered: 12.5, Placed: 14, Running: 17, UpstreamDone: 10},
		{Class: "a", Registered: 12.5, Placed: 30, Running: 32, UpstreamDone: 10},
		{Class: "b", Registered: 11.5, Placed: 11.5, Running: 14.5, UpstreamDone: 10},
		{Class: "b", Registered: 21.5, Placed: 21.5, Running: 24.5, UpstreamDone: 20},
	}}
	cal := Calibrate([]*Run{r}, 2)
	d := cal.Dispatch
	if math.Abs(d.ReactionSeconds-0.5) > 1e-9 || math.Abs(d.RegisterSeconds-1) > 1e-9 || d.RegisterConcurrency != 2 {
		t.Errorf("dispatch %+v, want reaction 0.5 s, registration 1 s, 2 at once", d)
	}
	if math.Abs(cal.Startup["a"]-4.0/3) > 1e-9 || cal.Startup["b"] != 3 || cal.Shards != 6 || cal.Waves != 2 {
		t.Errorf("start-ups %v, %d shards, %d waves; want a 4/3 s, b 3 s, 6, 2", cal.Startup, cal.Shards, cal.Waves)
	}
	// Two tasks predicted 3 s in all, running 4 s: 0.5 s more per task.
	if got := Calibrate([]*Run{{Shards: []Shard{{Class: "a", Tasks: 2, Predicted: 3, Running: 10, Complete: 14}}}}, 8).TaskSeconds; got != 0.5 {
		t.Errorf("per task %v s, want 0.5 s", got)
	}
	// With the time the commands were set to take (Work), per-task time is
	// measured against it, not against the prediction: 3.4 s of work
	// running 4 s is 0.3 s per task, whatever was predicted.
	if got := Calibrate([]*Run{{Shards: []Shard{{Class: "a", Tasks: 2, Predicted: 3, Work: 3.4, Running: 10, Complete: 14}}}}, 8).TaskSeconds; math.Abs(got-0.3) > 1e-9 {
		t.Errorf("per task with work %v s, want 0.3 s", got)
	}
	// A single wave position leaves the slope undetermined.
	one := Calibrate([]*Run{{Shards: []Shard{{Class: "a", Registered: 3, Placed: 3, Running: 4, UpstreamDone: 1}}}}, 8)
	if one.Dispatch.ReactionSeconds != 2 || one.Dispatch.RegisterSeconds != 0 {
		t.Errorf("one shard: %+v, want reaction 2 s, registration 0", one.Dispatch)
	}
}

// TestCalibrateReleaseHandComputed fits the release delay. On node n1, a
// completes at 5; b, registered at 1, waits and is placed at 5.8 (a
// hand-over of 0.8 s); c, registered at 10 after b's completion at 8,
// finds the slot free and is left out. On node n2, e and f complete at
// 3.8 and 3; d, registered at 2, is placed at 4.2: 0.4 s after the later
// one. g, registered at 2, is placed at 7, 1 s after d's completion at 6.
// Mean of 0.8, 0.4 and 1: 2.2/3 s. A shard without a node and the roots
// placed at registration count nowhere.
//
// The completion rates over the minute up to each freeing completion:
// at 3.8 s, f (3) and e (3.8): 2/60 per second; at 5, a as well: 3/60;
// at 6, d as well: 4/60. FitRelease over these three: the knees on the
// grid are 0 (every hand-over above it: more than 90% of the weight, left
// out) and 0.05, which leaves the 1 s hand-over (rate 4/60) above it:
// base 0.6 s (the mean of the other two), slope 0.4 s over 1/60 per
// second, 24 s per completion per second. Its squared error, 0.08/3,
// against the constant's (0.0667^2 + 0.3333^2 + 0.2667^2)/3 = 0.56/9:
// 3 ln(0.56/9 / (0.08/3)) = 2.54 > 2 ln 3 = 2.20, so the hinge is kept.
func TestCalibrateReleaseHandComputed(t *testing.T) {
	r := &Run{Shards: []Shard{
		{ID: "a", Node: "n1", Registered: 0, Placed: 0, Complete: 5},
		{ID: "b", Node: "n1", Registered: 1, Placed: 5.8, Complete: 8},
		{ID: "c", Node: "n1", Registered: 10, Placed: 10, Complete: 11},
		{ID: "e", Node: "n2", Registered: 0, Placed: 0, Complete: 3.8},
		{ID: "f", Node: "n2", Registered: 0, Placed: 0, Complete: 3},
		{ID: "d", Node: "n2", Registered: 2, Placed: 4.2, Complete: 6},
		{ID: "g", Node: "n2", Registered: 2, Placed: 7, Complete: 9},
		{ID: "h", Registered: 2, Placed: 20, Complete: 21},
	}}
	cal := Calibrate([]*Run{r}, 8)
	if math.Abs(cal.ReleaseMean-2.2/3) > 1e-9 || cal.HandOvers != 3 {
		t.Errorf("mean release %v s from %d hand-overs, want 2.2/3 s from 3", cal.ReleaseMean, cal.HandOvers)
	}
	// What else HandOvers measures: completions over 10 s (at 5: 3, 3.8
	// and 5; at 3.8: 3 and 3.8; at 6: those and 6), registrations over
	// 60 s (all but c's at 10: 7), jobs registered and not placed (at
	// 3.8: b, d, g, h; at 5: b, g, h; at 6: g, h) and allocations placed
	// on the node before (n1 at 5: a; n2 at 3.8: e, f; at 6: e, f, d).
	type other struct {
		node                 string
		burst                float64
		queued, allocsBefore int
	}
	wantOther := map[float64]other{5: {"n1", 0.3, 3, 1}, 3.8: {"n2", 0.2, 4, 2}, 6: {"n2", 0.4, 2, 3}}
	rates := map[float64]float64{}
	for _, h := range HandOvers(r) {
		rates[h.Freed] = h.Rate
		if want := map[float64]float64{5: 0.8, 3.8: 0.4, 6: 1}[h.Freed]; math.Abs(h.Gap-want) > 1e-9 {
			t.Errorf("hand-over freed at %v s: %v s, want %v s", h.Freed, h.Gap, want)
		}
		w := wantOther[h.Freed]
		if h.Node != w.node || math.Abs(h.Burst-w.burst) > 1e-12 || math.Abs(h.Registrations-7.0/60) > 1e-12 || h.Queued != w.queued || h.NodeAllocations != w.allocsBefore {
			t.Errorf("hand-over freed at %v s: %+v, want node %s, %v completions/s over 10 s, 7/60 registrations/s, %d queued, %d allocations before",
				h.Freed, h, w.node, w.burst, w.queued, w.allocsBefore)
		}
	}
	if math.Abs(rates[3.8]-2.0/60) > 1e-12 || math.Abs(rates[5]-3.0/60) > 1e-12 || math.Abs(rates[6]-4.0/60) > 1e-12 {
		t.Errorf("rates %v, want 2/60 at 3.8 s, 3/60 at 5 s, 4/60 at 6 s", rates)
	}
	d := cal.Dispatch
	if math.Abs(d.ReleaseSeconds-0.6) > 1e-9 || math.Abs(d.Congestion.KneePerSecond-0.05) > 1e-12 ||
		math.Abs(d.Congestion.SecondsPerRate-24) > 1e-6 || d.Congestion.WindowSeconds != CongestionWindow {
		t.Errorf("release %s, want 0.6 s + 24 s per completion per second above 0.05 per second (60 s window)", ReleaseString(d))
	}
	if c := cal.Constant().Dispatch; math.Abs(c.ReleaseSeconds-2.2/3) > 1e-9 || c.Congestion != (simulate.Congestion{}) {
		t.Errorf("constant release %s, want 2.2/3 s", ReleaseString(c))
	}
	if got := Calibrate([]*Run{{Shards: r.Shards[:1]}}, 8); got.Dispatch.ReleaseSeconds != 0 || got.ReleaseMean != 0 || got.HandOvers != 0 {
		t.Errorf("nothing queued: release %v s from %d, want 0 from 0", got.Dispatch.ReleaseSeconds, got.HandOvers)
	}
}

// TestCalibratePlacementHandComputed fits the scheduler's time per
// placement. On n1, four shards registered at 0 are placed at 1, 2, 2
// and 5 (service times 1, 1, 0 and 3: each placement minus the later of
// its registration and the placement before), one registered at 10 at
// 10.5 (0.5); the mean is 1.1 s. q, registered at 0 and placed at 21
// after a's completion at 20, is a hand-over (1 s), not a placement on a
// free slot.
func TestCalibratePlacementHandComputed(t *testing.T) {
	r := &Run{Shards: []Shard{
		{ID: "a", Node: "n1", Registered: 0, Placed: 1, Complete: 20},
		{ID: "b", Node: "n1", Registered: 0, Placed: 2, Complete: 30},
		{ID: "c", Node: "n1", Registered: 0, Placed: 2, Complete: 30},
		{ID: "d", Node: "n1", Registered: 0, Placed: 5, Complete: 30},
		{ID: "e", Node: "n1", Registered: 10, Placed: 10.5, Complete: 30},
		{ID: "q", Node: "n1", Registered: 0, Placed: 21, Complete: 30},
	}}
	cal := Calibrate([]*Run{r}, 8)
	if d := cal.Dispatch; math.Abs(d.PlaceSeconds-1.1) > 1e-9 || cal.Placements != 5 || d.ReleaseSeconds != 1 || cal.HandOvers != 1 {
		t.Errorf("placement %v s from %d, release %v s from %d; want 1.1 s from 5, 1 s from 1", d.PlaceSeconds, cal.Placements, d.ReleaseSeconds, cal.HandOvers)
	}
}

// TestCalibratedSimulationHandComputed plays a two-shard chain on one
// instance with the calibrated start-up (1 s instead of the catalog's 5 s)
// and dispatch (reaction 0.5 s, registration 1 s): s1 is registered and
// placed at 1.5 s and ends at 4.5 s; s2, ready then, is registered at 6 s
// and ends at 8 s; counted from the first registration, 6.5 s.
func TestCalibratedSimulationHandComputed(t *testing.T) {
	s1 := &plan.Shard{ID: "s1", Class: "one", Tasks: []string{"t1"}, RuntimeSeconds: plan.Estimate{Value: 2}}
	s2 := &plan.Shard{ID: "s2", Class: "one", Tasks: []string{"t2"}, RuntimeSeconds: plan.Estimate{Value: 1}, Upstream: []string{"s1"}}
	cat := &catalog.Catalog{Classes: []*catalog.Class{{Name: "one", Instances: 1, Startup: 5 * time.Second}}}
	cal := Calibration{Startup: map[string]float64{"one": 1}}
	cal.Dispatch.ReactionSeconds, cal.Dispatch.RegisterSeconds, cal.Dispatch.RegisterConcurrency = 0.5, 1, 2
	got, err := cal.Simulate(&Run{Plan: &plan.Plan{Shards: []*plan.Shard{s1, s2}}}, cat)
	if err != nil {
		t.Fatal(err)
	}
	if got != 6.5 {
		t.Errorf("calibrated makespan %v s, want 6.5 s", got)
	}
	if cat.Classes[0].Startup != 5*time.Second {
		t.Error("Simulate changed the catalog")
	}
	// 0.5 s more per task: s1 1.5-5, s2 registered 6.5, ends 9: 7.5 s.
	cal.TaskSeconds = 0.5
	if got, err := cal.Simulate(&Run{Plan: &plan.Plan{Shards: []*plan.Shard{s1, s2}}}, cat); err != nil || got != 7.5 {
		t.Errorf("with 0.5 s per task: %v s, %v; want 7.5 s", got, err)
	}
	if s1.RuntimeSeconds.Value != 2 {
		t.Error("Simulate changed the plan")
	}
}

// TestCalibrateRunsCountsEachRunOnce combines three runs' own fits by the
// median of each parameter: class a starts in 1 s, 2 s and 30 s in the
// three runs (median 2 s, where pooling the shards would give the third
// run's 30 s to nine of eleven shards), class b only in the first (4 s);
// per-task time 0.5, 0.1 and 9 s: median 0.5 s.
func TestCalibrateRunsCountsEachRunOnce(t *testing.T) {
	shard := func(class string, start, extra float64) Shard {
		return Shard{Class: class, Tasks: 1, Placed: 0, Running: start, Predicted: 1, Complete: start + 1 + extra}
	}
	runs := []*Run{
		{Shards: []Shard{shard("a", 1, 0.5), shard("b", 4, 0.5)}},
		{Shards: []Shard{shard("a", 2, 0.1)}},
		{Shards: []Shard{shard("a", 30, 9), shard("a", 30, 9), shard("a", 30, 9), shard("a", 30, 9), shard("a", 30, 9),
			shard("a", 30, 9), shard("a", 30, 9), shard("a", 30, 9)}},
	}
	cal := CalibrateRuns(runs, 8)
	if cal.Startup["a"] != 2 || cal.Startup["b"] != 4 || math.Abs(cal.TaskSeconds-0.5) > 1e-9 || cal.Shards != 11 {
		t.Errorf("start-ups %v, per task %v s, %d shards; want a 2 s, b 4 s, 0.5 s, 11", cal.Startup, cal.TaskSeconds, cal.Shards)
	}
	if pooled := Calibrate(runs, 8); pooled.Startup["a"] < 20 {
		t.Errorf("pooled start-up of a %v s; the test expects pooling to follow the large run", pooled.Startup["a"])
	}
	if one := CalibrateRuns(runs[:1], 8); one.Startup["a"] != 1 || one.Startup["b"] != 4 {
		t.Errorf("one run: %v, want its own fit", one.Startup)
	}
}

// TestSimulatePlaysRecordedRuntimes: with Run.Actual the calibrated
// simulation plays what each task really takes plus the per-task time,
// not the plan's prediction. One shard of two tasks predicted 10 s in
// all, really 2 s and 3 s on class a (start-up 1 s): 1 + 2 + 3 + 2 x 0.5.
func TestSimulatePlaysRecordedRuntimes(t *testing.T) {
	cat := catalog.Default()
	class := cat.Classes[0].Name
	p := &plan.Plan{Shards: []*plan.Shard{{ID: "s", Job: "j", Class: class, Tasks: []string{"x", "y"}, RuntimeSeconds: plan.Estimate{Value: 10}}}}
	r := &Run{Trace: "t", Method: "shardwise", Plan: p, Shards: []Shard{{ID: "s", Class: class, Tasks: 2}}}
	act := func(task, cl string) (float64, bool) {
		if cl != class {
			return 0, false
		}
		return map[string]float64{"x": 2, "y": 3}[task], task == "x" || task == "y"
	}
	if err := r.SetActual(act); err != nil {
		t.Fatal(err)
	}
	if r.Shards[0].Work != 5 {
		t.Errorf("work %v s, want 5 s", r.Shards[0].Work)
	}
	cal := Calibration{Startup: map[string]float64{class: 1}, TaskSeconds: 0.5}
	got, err := cal.Simulate(r, cat)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-7) > 1e-9 {
		t.Errorf("calibrated makespan %v s, want 7 s", got)
	}
	r.Actual = nil
	if got, _ := cal.Simulate(r, cat); math.Abs(got-12) > 1e-9 {
		t.Errorf("without recorded runtimes %v s, want 1 + 10 + 2 x 0.5 = 12 s", got)
	}
	bad := &Run{Trace: "t", Method: "shardwise", Plan: p, Shards: r.Shards}
	if err := bad.SetActual(func(string, string) (float64, bool) { return 0, false }); err == nil {
		t.Error("SetActual without a task's runtime: no error")
	}
}
