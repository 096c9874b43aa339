package replay

import (
	"math"
	"testing"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/simulate"
)

// TestFitReleaseHandComputed fits hand-overs that follow the model
// exactly: 0.2 s up to 3 completions per second, 0.5 s more per
// completion per second beyond (rates 1 to 6: 0.2, 0.2, 0.2, 0.7, 1.2,
// 1.7 s). Only the knee at 3 fits with no error, so base 0.2 s, knee 3,
// slope 0.5.
func TestFitReleaseHandComputed(t *testing.T) {
	var run []HandOver
	for r := 1.0; r <= 6; r++ {
		run = append(run, HandOver{Rate: r, Gap: 0.2 + 0.5*math.Max(0, r-3)})
	}
	base, c, ok := FitRelease([][]HandOver{run})
	if !ok || math.Abs(base-0.2) > 1e-9 || math.Abs(c.KneePerSecond-3) > 1e-9 || math.Abs(c.SecondsPerRate-0.5) > 1e-9 || c.WindowSeconds != 60 {
		t.Errorf("fit %v s, %+v (ok %v); want 0.2 s + 0.5 s per completion per second above 3, 60 s window", base, c, ok)
	}
}

// TestFitReleaseConstant checks the cases where the release stays a
// constant.
//
//   - Every run weighs the same: a run with one 1 s hand-over and one
//     with three of 0 s, all at the same rate (no knee to try), give
//     (1 + 0)/2 = 0.5 s, not the pooled mean 0.25 s.
//   - A zigzag the hinge cannot follow: rates 1-4, 0.2, 0.4, 0.2, 0.4 s.
//     The best hinge (knee on the grid just below 4: 0.4 s above, the
//     mean 0.8/3 below) has a squared error of 0.02/3 against the
//     constant's 0.01 (mean 0.3 s): 4 ln 1.5 = 1.62, not above 2 ln 4 =
//     2.77, so the constant, 0.3 s, is kept.
//   - No hand-over: not ok.
func TestFitReleaseConstant(t *testing.T) {
	base, c, ok := FitRelease([][]HandOver{{{Rate: 1, Gap: 1}}, {{Rate: 1}, {Rate: 1}, {Rate: 1}}})
	if !ok || math.Abs(base-0.5) > 1e-12 || c.SecondsPerRate != 0 {
		t.Errorf("two runs: %v s, %+v; want 0.5 s, no congestion", base, c)
	}
	zigzag := []HandOver{{Rate: 1, Gap: 0.2}, {Rate: 2, Gap: 0.4}, {Rate: 3, Gap: 0.2}, {Rate: 4, Gap: 0.4}}
	base, c, ok = FitRelease([][]HandOver{zigzag})
	if !ok || math.Abs(base-0.3) > 1e-12 || c != (simulate.Congestion{WindowSeconds: 60}) {
		t.Errorf("zigzag: %v s, %+v; want 0.3 s, no congestion", base, c)
	}
	if _, _, ok := FitRelease(nil); ok {
		t.Error("no hand-over: ok")
	}
}

// TestCalibratedSimulationCongestion plays a calibration's congested
// release through Calibration.Simulate: one instance, no start-up, three
// 1 s shards queued at once (registration 0); release 0.5 s plus 1 s per
// completion per second above 0.25 per second over a 2 s window. At 1 s,
// 1 finish in 2 s: 0.5 per second, 0.25 s more: the second shard runs
// 1.75-2.75; at 2.75, (0.75, 2.75] holds both finishes: 1 per second,
// 0.75 s more: the third runs 4-5. Makespan 5 s; with the constant
// release (0.5 s) 4 s.
func TestCalibratedSimulationCongestion(t *testing.T) {
	p := &plan.Plan{}
	for _, id := range []string{"s1", "s2", "s3"} {
		p.Shards = append(p.Shards, &plan.Shard{ID: id, Class: "one", Tasks: []string{id}, RuntimeSeconds: plan.Estimate{Value: 1}})
	}
	cat := &catalog.Catalog{Classes: []*catalog.Class{{Name: "one", Instances: 1}}}
	cal := Calibration{Startup: map[string]float64{"one": 0}, ReleaseMean: 0.5}
	cal.Dispatch.ReleaseSeconds = 0.5
	cal.Dispatch.Congestion = simulate.Congestion{WindowSeconds: 2, KneePerSecond: 0.25, SecondsPerRate: 1}
	for _, tc := range []struct {
		cal  Calibration
		want float64
	}{{cal, 5}, {cal.Constant(), 4}} {
		got, err := tc.cal.Simulate(&Run{Plan: p}, cat)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("release %s: makespan %v s, want %v s", ReleaseString(tc.cal.Dispatch), got, tc.want)
		}
	}
}

// TestCalibrateRunsRelease combines runs' hand-overs. Run a: one
// hand-over of 1 s (b waits for a's slot, freed at 5 s). Run b: three of
// 0 s (y, z, w placed the moment the shard before them completes, at
// rates 1/60, 2/60 and 3/60 per second). Run c: none. The constant
// release of the model before (ReleaseMean) is the median of the runs'
// means, median(1, 0, 0) = 0; the fitted release weighs each run with
// hand-overs the same, (1 + 0)/2 = 0.5 s (no hinge: the 1 s hand-over
// is at the lowest rate, so every slope would be negative).
func TestCalibrateRunsRelease(t *testing.T) {
	a := &Run{Trace: "a", Shards: []Shard{
		{ID: "a", Node: "n1", Registered: 0, Placed: 0, Complete: 5},
		{ID: "b", Node: "n1", Registered: 1, Placed: 6, Complete: 8},
	}}
	b := &Run{Trace: "b", Shards: []Shard{
		{ID: "x", Node: "m1", Registered: 0, Placed: 0, Complete: 2},
		{ID: "y", Node: "m1", Registered: 0, Placed: 2, Complete: 4},
		{ID: "z", Node: "m1", Registered: 0, Placed: 4, Complete: 6},
		{ID: "w", Node: "m1", Registered: 0, Placed: 6, Complete: 8},
	}}
	c := &Run{Trace: "c", Shards: []Shard{{ID: "s", Node: "k1", Registered: 0, Placed: 0, Complete: 1}}}
	cal := CalibrateRuns([]*Run{a, b, c}, 8)
	if cal.ReleaseMean != 0 || math.Abs(cal.Dispatch.ReleaseSeconds-0.5) > 1e-12 || cal.Dispatch.Congestion.SecondsPerRate != 0 || cal.HandOvers != 4 {
		t.Errorf("release %s, mean %v s, from %d hand-overs; want 0.5 s, mean 0 s, from 4", ReleaseString(cal.Dispatch), cal.ReleaseMean, cal.HandOvers)
	}
}
