package replay

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/plan"
)

// The p90 column is the nearest-rank quantile (as before gonum computed
// it): the smallest value with at least 90% of the values at or below it;
// the input keeps its order.
func TestNearestRank(t *testing.T) {
	xs := []float64{10, 1, 9, 2, 8, 3, 7, 4, 6, 5}
	orig := slices.Clone(xs)
	for _, tt := range []struct{ q, want float64 }{{0.1, 1}, {0.5, 5}, {0.9, 9}, {0.91, 10}, {1, 10}} {
		if got := nearestRank(xs, tt.q); got != tt.want {
			t.Errorf("nearestRank(1..10, %g) = %g, want %g", tt.q, got, tt.want)
		}
	}
	if got := nearestRank([]float64{3}, 0.9); got != 3 {
		t.Errorf("nearestRank([3], 0.9) = %g, want 3", got)
	}
	if !slices.Equal(xs, orig) {
		t.Errorf("input reordered: %v", xs)
	}
}

// TestReportFromStored writes the report of stored measurements without a
// cluster (-from). One shard of 2 s predicted, placed at registration,
// running 1 s later and complete at 3 s: the calibration on the run has a
// 1 s start-up and nothing else, so the calibrated simulation is 3 s, the
// actual makespan; there is no other trace to calibrate on ("-").
func TestReportFromStored(t *testing.T) {
	dir := t.TempDir()
	p := &plan.Plan{Run: "r1", Shards: []*plan.Shard{{ID: "s1", Job: "j1", Class: "cpu-heavy", Tasks: []string{"t1"}, RuntimeSeconds: plan.Estimate{Value: 2}}}}
	m := &Measurements{Args: []string{"-wide", "0"}, Cluster: "1 Nomad client", Runs: []*Run{{
		Trace: "tr", Method: "shardwise", Tasks: 1, TimeScale: 0.5, Allocations: 1, PredictedSeconds: 2, SimulatedSeconds: 4.5, ActualSeconds: 3, Plan: p,
		Shards: []Shard{{ID: "s1", Class: "cpu-heavy", Node: "n1", Tasks: 1, Registered: 0, Placed: 0, Running: 1, Complete: 3, Predicted: 2}},
	}}}
	stored := filepath.Join(dir, "runs.json.gz")
	if err := m.Save(stored); err != nil {
		t.Fatal(err)
	}
	cf := Config{From: stored, Out: filepath.Join(dir, "replay.md"), CatalogPath: "catalog.hcl", Concurrency: 8}
	cat, diags := catalog.Load(cf.CatalogPath)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if err := fromStored(cf, cat); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(cf.Out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"from the measurements stored in `" + stored + "`", "| tr | 1 | 0.5 | shardwise | 1 | 1 |", "| 3.0 | 1.00 | - | - |"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("report lacks %q:\n%s", want, b)
		}
	}
	// Findings written by hand stand between the goals and the overheads,
	// so that regenerating docs/replay.md keeps them in place.
	cf.Findings = "## What these runs say\n\nhand-written\n\n"
	if err := fromStored(cf, cat); err != nil {
		t.Fatal(err)
	}
	if b, err = os.ReadFile(cf.Out); err != nil {
		t.Fatal(err)
	}
	goals, found, over := strings.Index(string(b), "## Goals"), strings.Index(string(b), "## What these runs say"), strings.Index(string(b), "## Nomad overhead")
	if goals < 0 || found < goals || over < found {
		t.Errorf("findings at %d, want between goals (%d) and overheads (%d):\n%s", found, goals, over, b)
	}
	cf.Findings = ""
	if err := fromStored(Config{From: filepath.Join(dir, "missing.json.gz"), Out: cf.Out}, cat); err == nil {
		t.Error("missing measurements: no error")
	}

	// With -fit-from an earlier run of the same trace that took the same
	// (another plan ID): no other trace to fit on ("-"), and the fit on
	// every trace is as the run's own, 1.00 with either release (the run
	// has no hand-over, so both are 0).
	run0 := *m.Runs[0]
	run0.Plan = &plan.Plan{Run: "r0", Shards: p.Shards}
	earlier := filepath.Join(dir, "earlier.json.gz")
	if err := (&Measurements{Runs: []*Run{&run0}}).Save(earlier); err != nil {
		t.Fatal(err)
	}
	cf.FitFrom = earlier
	if err := fromStored(cf, cat); err != nil {
		t.Fatal(err)
	}
	if b, err = os.ReadFile(cf.Out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| tr | shardwise | - | 1.00 | 1.00 | - | - |", "| within 15% | | | 1 of 1 | 1 of 1 | 0 of 1 | 0 of 1 |",
		"### Out of sample: fitted on `" + earlier + "`", "| tr | shardwise | 3.0 | - | - | 1.00 | 1.00 |", "| within 15% | | | 0 of 1 | 0 of 1 | 1 of 1 | 1 of 1 |"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("report with -fit-from lacks %q:\n%s", want, b)
		}
	}
	// An out-of-sample fit on the runs it predicts is not one: -fit-from
	// sharing a run with -from is an error, and so is a -fit-from file
	// without trace runs (nothing to fit).
	cf.FitFrom = earlier + "," + stored
	if err := fromStored(cf, cat); err == nil || !strings.Contains(err.Error(), "also in -from") || !strings.Contains(err.Error(), stored) {
		t.Errorf("-fit-from sharing a run with -from: err %v, want one naming the run and %s", err, stored)
	}
	scaleOnly := filepath.Join(dir, "scale.json.gz")
	if err := (&Measurements{Scale: []Throughput{{Shape: "chain", Via: "launcher", Shards: 5}}}).Save(scaleOnly); err != nil {
		t.Fatal(err)
	}
	cf.FitFrom = scaleOnly
	if err := fromStored(cf, cat); err == nil || !strings.Contains(err.Error(), "no trace runs") {
		t.Errorf("-fit-from without trace runs: err %v, want 'no trace runs'", err)
	}
	cf.FitFrom = filepath.Join(dir, "missing.json.gz")
	if err := fromStored(cf, cat); err == nil || !strings.Contains(err.Error(), "-fit-from") {
		t.Errorf("missing -fit-from measurements: err %v, want one naming -fit-from", err)
	}
}

// TestSetActualOnPlannedCatalog: what a stored run's tasks took is read
// on the catalog the run was planned with (its replay commands carry that
// catalog's speeds), not on -catalog: a stored catalog whose io-bound
// class runs every profile at speed 4 gives that class's seconds.
func TestSetActualOnPlannedCatalog(t *testing.T) {
	cf := Config{TraceDir: "../../translator/wfcommons/testdata", CatalogPath: "catalog.hcl"}
	cat, diags := catalog.Load(cf.CatalogPath)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	fast := cat.Clone()
	fast.Class("io-bound").Speed = map[graph.Kind]float64{graph.KindCPU: 4, graph.KindMemory: 4, graph.KindIO: 4, graph.KindGPU: 4, graph.KindLatency: 4}
	var text strings.Builder
	if err := catalog.WriteHCL(&text, fast); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(cf.TraceDir, "tiny-nextflow.json")
	want, differ := map[string]float64{}, 0
	for _, c := range []*catalog.Catalog{fast, cat} {
		tr, err := Load(path, t.TempDir(), 1, c)
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range tr.Graph.Tasks {
			v, ok := tr.Actual(c)(task.Name, "io-bound")
			if !ok {
				t.Fatalf("%s: no replay seconds", task.Name)
			}
			if c == fast {
				want[task.Name] = v
			} else if v != want[task.Name] {
				differ++
			}
		}
	}
	if differ == 0 {
		t.Fatal("no task takes another time on -catalog: the test needs a difference")
	}
	p := &plan.Plan{Run: "r1"}
	for name := range want {
		p.Shards = append(p.Shards, &plan.Shard{ID: name, Class: "io-bound", Tasks: []string{name}})
	}
	run := &Run{Trace: "tiny-nextflow", Method: "heft", TimeScale: 1, Plan: p, Catalog: text.String()}
	if err := setActual(cf, cat, []*Run{run}); err != nil {
		t.Fatal(err)
	}
	for name, w := range want {
		if got, ok := run.Actual(name, "io-bound"); !ok || got != w {
			t.Errorf("%s on io-bound: %v s (%v), want %v s (the stored catalog's speed)", name, got, ok, w)
		}
	}
}
