package replay

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/translator/hclreader"
)

func TestScaleGraphShapes(t *testing.T) {
	cat := catalog.Default()
	for shape, edges := range map[string]int{"wide": 0, "chain": 4} {
		path := filepath.Join(t.TempDir(), shape+".hcl")
		if err := os.WriteFile(path, []byte(ScaleGraph(shape, 5)), 0o644); err != nil {
			t.Fatal(err)
		}
		g, diags := hclreader.ParseFile(path, hclreader.Options{Executors: cat.Names()})
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		if len(g.Tasks) != 5 || len(g.Edges) != edges {
			t.Errorf("%s: %d tasks, %d edges; want 5 and %d", shape, len(g.Tasks), len(g.Edges), edges)
		}
		p, jobs, err := ScalePlan(shape, 5, cat, "r1", t.TempDir())
		if err != nil || len(p.Shards) != 5 || len(jobs) != 5 {
			t.Errorf("%s: plan of %d shards, %d jobs, %v; want one shard and job per task", shape, len(p.Shards), len(jobs), err)
		}
	}
}

func TestMedian(t *testing.T) {
	if Median([]float64{2, 2.5}) != 2.25 || Median(nil) != 0 || Median([]float64{3, 1, 2}) != 2 {
		t.Error("Median")
	}
}

// TestMeasurementsRoundTrip stores a run and reads it back whole (the
// plan the calibrated simulation needs included); a file without a run's
// plan, or not gzip, is an error naming the file.
func TestMeasurementsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "runs.json.gz")
	p := &plan.Plan{Run: "r1", Shards: []*plan.Shard{{ID: "s1", Class: "a", Tasks: []string{"t1"}, RuntimeSeconds: plan.Estimate{Value: 2}}}}
	m := &Measurements{Measured: time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC), Args: []string{"-wide", "0"}, Cluster: "1 client",
		Runs:  []*Run{{Trace: "tr", Method: "heft", Tasks: 1, TimeScale: 0.5, Plan: p, ActualSeconds: 3, Shards: []Shard{{ID: "s1", Node: "n1", Placed: 1, Complete: 3}}}},
		Scale: []Throughput{{Shape: "chain", Via: "launcher", Shards: 5, Wall: 7 * time.Second}}}
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := LoadMeasurements(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("read back %+v, want %+v", got, m)
	}
	m.Runs[0].Plan = nil
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadMeasurements(path); err == nil || !strings.Contains(err.Error(), "run 0 has no plan") {
		t.Errorf("run without plan: err %v", err)
	}
	bad := filepath.Join(dir, "bad.json.gz")
	if err := os.WriteFile(bad, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadMeasurements(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("not gzip: err %v, want one naming %s", err, bad)
	}
}

// TestLoadMeasurementsBadStoredCatalog: a run whose stored catalog does
// not parse is an error at load naming the file, the run and the
// catalog's line, not a report whose simulations of that run are
// silently missing.
func TestLoadMeasurementsBadStoredCatalog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runs.json.gz")
	p := &plan.Plan{Run: "r1", Shards: []*plan.Shard{{ID: "s1", Class: "a", Tasks: []string{"t1"}, RuntimeSeconds: plan.Estimate{Value: 2}}}}
	m := &Measurements{Runs: []*Run{{Trace: "tr", Method: "heft", RunID: "r1", Plan: p, Catalog: "executor \"a\" {\n  instances = \n}\n"}}}
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	_, err := LoadMeasurements(path)
	if err == nil {
		t.Fatal("a run with a stored catalog that does not parse was loaded")
	}
	for _, want := range []string{path, "run 0", "heft of tr", "r1.catalog.hcl:2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err %q lacks %q", err, want)
		}
	}
}

// A run's stored catalog is what the report simulates it on: it reads
// back equal to the catalog it was written from, and a run stored without
// one falls back.
func TestPlannedCatalogRoundTrips(t *testing.T) {
	cat, diags := catalog.Load("catalog.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var text strings.Builder
	if err := catalog.WriteHCL(&text, cat); err != nil {
		t.Fatal(err)
	}
	r := &Run{Trace: "t", Method: "heft", RunID: "r1", Catalog: text.String()}
	got, err := r.PlannedCatalog(catalog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Classes) != len(cat.Classes) {
		t.Fatalf("%d classes read back, want %d", len(got.Classes), len(cat.Classes))
	}
	for i, cl := range cat.Classes {
		g := got.Classes[i]
		if g.Name != cl.Name || g.Startup != cl.Startup || g.Instances != cl.Instances {
			t.Errorf("class %d read back as %s %v x%d, want %s %v x%d", i, g.Name, g.Startup, g.Instances, cl.Name, cl.Startup, cl.Instances)
		}
	}
	def := catalog.Default()
	if got, _ := (&Run{}).PlannedCatalog(def); got != def {
		t.Error("a run without a stored catalog did not fall back")
	}
	if _, err := (&Run{Trace: "t", Catalog: "executor {"}).PlannedCatalog(def); err == nil {
		t.Error("a malformed stored catalog was accepted")
	}
}
